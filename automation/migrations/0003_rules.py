"""Placeholder owned by the rules area: add its schema changes here (linear chain, no conflicts)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("automation", "0002_health")]
    operations: list = []
