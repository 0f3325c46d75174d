"""The condition language on its own: no database, plain functions."""

import pytest

from automation.conditions import (FIELDS, MAX_DEPTH, MAX_LEAVES, MAX_LIST, ConditionError, describe, evaluate,
                                   validate)

FACTS = {"deployment.provider": "runpod", "deployment.gpu_count": 2, "deployment.price_per_hour": 1.5,
         "deployment.spot": True, "deployment.name": "Llama-Serve", "health.state": "down",
         "automation.restarts_last_hour": 3.0}


def leaf(field, op, value=None, **extra):
    node = {"field": field, "op": op, **extra}
    if value is not None:
        node["value"] = value
    return node


@pytest.mark.parametrize("condition, expected", [
    (leaf("deployment.gpu_count", "eq", 2), True), (leaf("deployment.gpu_count", "eq", 2.0), True),
    (leaf("deployment.gpu_count", "ne", 2), False),
    (leaf("deployment.price_per_hour", "lt", 1.5), False), (leaf("deployment.price_per_hour", "lte", 1.5), True),
    (leaf("deployment.price_per_hour", "gt", 1.4), True), (leaf("deployment.price_per_hour", "gte", 1.6), False),
    (leaf("deployment.gpu_count", "in", [1, 2]), True), (leaf("deployment.gpu_count", "not_in", [1, 2]), False),
    (leaf("deployment.provider", "in", ["vast", "runpod"]), True),
    (leaf("deployment.provider", "not_in", ["vast"]), True),
    (leaf("deployment.name", "contains", "serve"), True),  # case-insensitive
    (leaf("deployment.name", "contains", "train"), False),
    (leaf("deployment.spot", "eq", True), True), (leaf("deployment.spot", "ne", True), False),
    (leaf("deployment.region", "exists"), False), (leaf("deployment.region", "exists", False), True),
    (leaf("deployment.provider", "exists", True), True),
    (leaf("automation.restarts_last_hour", "gte", 3), True),
])
def test_each_operator(condition, expected):
    assert evaluate(validate(condition), FACTS) is expected


@pytest.mark.parametrize("op, value", [("eq", 50), ("ne", 50), ("lt", 50), ("gt", 50), ("in", [50]),
                                       ("not_in", [50])])
def test_a_missing_fact_is_false_whatever_the_operator_and_not_of_it_is_true(op, value):
    condition = leaf("metrics.gpu_util_percent", op, value)
    assert evaluate(validate(condition), FACTS) is False
    assert evaluate({"not": condition}, FACTS) is True


def test_none_counts_as_missing():
    assert evaluate(leaf("metrics.gpu_util_percent", "exists"), {"metrics.gpu_util_percent": None}) is False


def test_groups_nest_and_empty_groups_have_fixed_meanings():
    gpus, vast = leaf("deployment.gpu_count", "gte", 2), leaf("deployment.provider", "eq", "vast")
    assert evaluate(validate({"all": [gpus, {"any": [vast, {"not": vast}]}]}), FACTS) is True
    assert evaluate(validate({"all": [gpus, vast]}), FACTS) is False
    assert evaluate(validate({"any": [gpus, vast]}), FACTS) is True
    assert evaluate(validate({}), FACTS) is True
    assert evaluate(validate({"all": []}), FACTS) is True
    assert evaluate(validate({"any": []}), FACTS) is False
    assert evaluate(validate({"not": {}}), FACTS) is False


def _problems(condition) -> list[tuple[str, str]]:
    with pytest.raises(ConditionError) as caught:
        validate(condition)
    return caught.value.problems


@pytest.mark.parametrize("condition, path, needle", [
    (leaf("deployment.colour", "eq", "red"), "field", "Unknown field"),
    (leaf("deployment.gpu_count", "like", 1), "op", "does not apply"),
    (leaf("deployment.provider", "gt", "a"), "op", "does not apply"),  # no ordering on text
    (leaf("deployment.spot", "contains", "x"), "op", "does not apply"),
    (leaf("deployment.gpu_count", "eq", "2"), "value", "number"),
    (leaf("deployment.gpu_count", "eq", True), "value", "number"),  # a bool is not a number
    (leaf("deployment.gpu_count", "eq", float("nan")), "value", "number"),
    (leaf("deployment.gpu_count", "eq", 1e13), "value", "number"),
    (leaf("deployment.spot", "eq", 1), "value", "true or false"),
    (leaf("deployment.name", "eq", 5), "value", "text"),
    (leaf("deployment.name", "eq", "x" * 201), "value", "text"),
    (leaf("deployment.provider", "eq", "aws"), "value", "one of"),
    (leaf("health.state", "in", ["down", "sideways"]), "value", "one of"),
    (leaf("deployment.gpu_count", "in", []), "value", "list"),
    (leaf("deployment.gpu_count", "in", 3), "value", "list"),
    (leaf("deployment.gpu_count", "in", list(range(MAX_LIST + 1))), "value", "list"),
    (leaf("deployment.gpu_count", "eq"), "value", "required"),
    (leaf("deployment.region", "exists", "yes"), "value", "true or false"),
    (leaf("deployment.gpu_count", "eq", 1, extra=1), "", "Unknown keys"),
    ({"all": "nope"}, "all", "list"),
    ({"all": [], "any": []}, "", "no other keys"),
    ({"not": [leaf("deployment.gpu_count", "eq", 1)]}, "not", "object"),
    ([], "", "object"), ("all", "", "object"),
])
def test_refused_conditions_name_the_path(condition, path, needle):
    problems = _problems(condition)
    assert any(where == path and needle.lower() in message.lower() for where, message in problems), problems


def test_paths_point_into_nested_groups():
    condition = {"all": [leaf("deployment.gpu_count", "eq", 1), {"any": [{"not": leaf("nope", "eq", 1)}]}]}
    assert _problems(condition) == [("all[1].any[0].not.field", "Unknown field 'nope'.")]


def test_every_problem_is_reported_at_once():
    condition = {"all": [leaf("nope", "eq", 1), leaf("deployment.gpu_count", "eq", "x")]}
    assert [where for where, _ in _problems(condition)] == ["all[0].field", "all[1].value"]


def test_depth_limit():
    condition = leaf("deployment.gpu_count", "eq", 1)
    for _ in range(MAX_DEPTH - 1):
        condition = {"not": condition}
    validate(condition)  # exactly at the limit
    problems = _problems({"not": condition})
    assert any("deeper" in message for _, message in problems)


def test_size_limit():
    many = {"all": [leaf("deployment.gpu_count", "eq", i) for i in range(MAX_LEAVES)]}
    validate(many)
    many["all"].append(leaf("deployment.gpu_count", "eq", 0))
    assert any(f"At most {MAX_LEAVES}" in message for _, message in _problems(many))


def test_every_field_has_a_known_type_and_a_label():
    assert all(spec.type in ("number", "text", "bool") and spec.label for spec in FIELDS.values())
    assert {"event.type", "automation.auto_restart_enabled"} <= set(FIELDS)


def test_describe_reads_like_a_sentence():
    condition = {"all": [leaf("deployment.provider", "in", ["vast", "runpod"]),
                         {"not": leaf("deployment.spot", "eq", True)},
                         {"any": [leaf("deployment.price_per_hour", "gte", 2.0),
                                  leaf("metrics.gpu_temp_c", "exists")]}]}
    assert describe(validate(condition)) == (
        "(provider is one of vast, runpod and not (spot instance is yes) and "
        "(price per hour (USD) is at least 2 or GPU temperature (°C) is known))")
    assert describe({}) == "always"
    assert describe({"any": []}) == "never"
    assert describe({"all": [leaf("deployment.region", "exists", False)]}) == "region is unknown"
