"""Writes for automation, one module per area (health, rules, notify, budgets, jobs)."""
