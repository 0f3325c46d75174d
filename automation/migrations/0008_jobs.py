"""Placeholder owned by the jobs area: add its schema changes here (linear chain, no conflicts)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("automation", "0007_spend")]
    operations: list = []
