"""PostgreSQL only: the availability sort asks for `available DESC NULLS LAST`, which the portable
`offer_ws_available` index (DESC NULLS FIRST on PostgreSQL) cannot serve, so PostgreSQL fell back
to a sequential scan. SQLite already orders NULLs last in a DESC index and refuses NULLS LAST in
CREATE INDEX, hence a vendor check instead of a model index."""

from django.db import migrations

INDEX = "offer_ws_available_nulls_last"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON pricing_offer "
            "(workspace_id, available DESC NULLS LAST, price_per_gpu_hour, id)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("pricing", "0005_offer_price_index_with_gpu_count")]

    operations = [migrations.RunPython(create, drop)]
