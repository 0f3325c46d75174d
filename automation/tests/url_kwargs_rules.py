"""URL kwarg factories for the rules routes (merged by automation/tests/url_kwargs.py)."""

from automation.tests.factories_rules import rule


def _rule(workspace, scenario):
    return rule(workspace).pk


URL_KWARGS = {"rule_id": _rule}
