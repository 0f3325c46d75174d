"""Placeholder owned by the health area: add its schema changes here (linear chain, no conflicts)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_initial")]
    operations: list = []
