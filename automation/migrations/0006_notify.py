"""Placeholder owned by the notify area: add its schema changes here (linear chain, no conflicts)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("automation", "0005_orchestration")]
    operations: list = []
