"""Placeholder owned by the triggers area: add its schema changes here (linear chain, no conflicts)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("automation", "0003_rules")]
    operations: list = []
