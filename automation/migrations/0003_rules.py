"""Rules area: a rule's escalation actions (run once per capped hour when the hourly cap stops it),
and the `skipped` outcome of a run a safety check held back."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="rule", name="escalation", field=models.JSONField(blank=True, default=list)),
        migrations.AlterField(
            model_name="rulerun", name="outcome",
            field=models.CharField(max_length=16, choices=[
                ("done", "Done"), ("dry_run", "Dry run"), ("cooldown", "Skipped: cooldown"),
                ("capped", "Skipped: hourly cap"), ("not_matched", "Conditions not met"), ("escalated", "Escalated"),
                ("failed", "Failed"), ("pending", "In progress"), ("skipped", "Skipped: not safe")])),
    ]
