"""Placeholder owned by the spend area: add its schema changes here (linear chain, no conflicts)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("automation", "0006_notify")]
    operations: list = []
