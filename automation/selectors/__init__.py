"""Reads for automation, one module per area; every read of tenant data is scoped to a workspace."""
