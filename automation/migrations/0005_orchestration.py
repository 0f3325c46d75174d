"""Placeholder owned by the orchestration area: add its schema changes here (linear chain, no conflicts)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("automation", "0004_triggers")]
    operations: list = []
