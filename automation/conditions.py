"""The rule condition language: pure JSON, a whitelist of fields and operators, validated on save
and evaluated against a flat dict of facts. No database, no eval, no attribute access.

    condition := {}                                   (always true)
               | {"all": [condition, ...]}            (every one; an empty list is true)
               | {"any": [condition, ...]}            (at least one; an empty list is false)
               | {"not": condition}
               | {"field": FIELD, "op": OP, "value": VALUE}

A comparison whose fact is missing (the provider gives no GPU metrics, say) is false, whatever
the operator, except `exists`; so `not` of it is true. Numbers compare as floats."""

from dataclasses import dataclass

MAX_DEPTH = 6
MAX_LEAVES = 40
MAX_LIST = 50
MAX_TEXT = 200


@dataclass(frozen=True)
class Field:
    type: str  # "number" | "text" | "bool"
    label: str
    choices: tuple[str, ...] = ()


FIELDS: dict[str, Field] = {
    "deployment.name": Field("text", "deployment name"),
    "deployment.provider": Field("text", "provider",
                                 ("runpod", "vast", "lambda", "tensordock", "paperspace", "akash", "local")),
    "deployment.region": Field("text", "region"),
    "deployment.gpu_model": Field("text", "GPU model"),
    "deployment.gpu_count": Field("number", "GPU count"),
    "deployment.price_per_hour": Field("number", "price per hour (USD)"),
    "deployment.spend_usd": Field("number", "spend so far (USD)"),
    "deployment.spot": Field("bool", "spot instance"),
    "deployment.status": Field("text", "status", (
        "pending", "provisioning", "starting", "running", "stopping", "stopped", "terminating", "terminated",
        "failed", "preempted", "unknown")),
    "deployment.uptime_s": Field("number", "seconds running"),
    "health.state": Field("text", "health", ("new", "up", "down", "unknown")),
    "health.consecutive_failures": Field("number", "consecutive failed checks"),
    "health.uptime_24h_percent": Field("number", "uptime over 24 h (%)"),
    "automation.restarts_last_hour": Field("number", "automatic restarts in the last hour"),
    "automation.auto_restart_enabled": Field("bool", "auto-restart policy on"),
    "event.type": Field("text", "event", (
        "down", "still_down", "recovered", "preempted", "failed", "failed_to_start", "idle", "cost_threshold",
        "budget_reached", "price_change", "price_below", "schedule")),
    "metrics.gpu_util_percent": Field("number", "GPU utilisation (%)"),
    "metrics.gpu_mem_used_gb": Field("number", "GPU memory used (GB)"),
    "metrics.gpu_temp_c": Field("number", "GPU temperature (°C)"),
    "metrics.cpu_percent": Field("number", "CPU (%)"),
    "metrics.ram_used_gb": Field("number", "RAM used (GB)"),
    "price.gpu_model": Field("text", "GPU model priced"),
    "price.current": Field("number", "current price per hour (USD)"),
    "price.cheapest": Field("number", "cheapest matching price per hour (USD)"),
    "price.saving_percent": Field("number", "saving elsewhere (%)"),
    "spend.deployment_today_usd": Field("number", "deployment spend today (USD)"),
    "spend.workspace_today_usd": Field("number", "workspace spend today (USD)"),
    "spend.workspace_month_usd": Field("number", "workspace spend this month (USD)"),
    "time.hour_utc": Field("number", "hour of day (UTC)"),
    "time.weekday": Field("number", "weekday (0 = Monday)"),
}

OPERATORS: dict[str, str] = {
    "eq": "is", "ne": "is not", "lt": "is below", "lte": "is at most", "gt": "is above", "gte": "is at least",
    "in": "is one of", "not_in": "is none of", "contains": "contains", "exists": "is known",
}
_OPS_BY_TYPE = {
    "number": {"eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists"},
    "text": {"eq", "ne", "in", "not_in", "contains", "exists"},
    "bool": {"eq", "ne", "exists"},
}
_GROUPS = ("all", "any", "not")


class ConditionError(ValueError):
    """Why a condition is refused: `problems` are (path, message) pairs, path like "all[1].value"."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{path or 'condition'}: {message}" for path, message in problems))


def validate(condition) -> dict:
    """Return the condition unchanged if valid, else raise ConditionError listing every problem."""
    problems: list[tuple[str, str]] = []
    leaves = _check(condition, "", 1, problems)
    if leaves > MAX_LEAVES:
        problems.append(("", f"At most {MAX_LEAVES} comparisons in one rule."))
    if problems:
        raise ConditionError(problems)
    return condition


def _check(node, path: str, depth: int, problems: list) -> int:
    """Problems of `node` appended to `problems`; returns how many comparisons it holds."""
    if not isinstance(node, dict):
        problems.append((path, "Expected an object."))
        return 0
    if depth > MAX_DEPTH:
        problems.append((path, f"Nested deeper than {MAX_DEPTH} levels."))
        return 0
    if not node:
        return 0
    group = [key for key in _GROUPS if key in node]
    if group:
        return _check_group(node, group, path, depth, problems)
    return _check_leaf(node, path, problems)


def _check_group(node: dict, group: list[str], path: str, depth: int, problems: list) -> int:
    key = group[0]
    if len(node) != 1:
        problems.append((path, f"A {key!r} group takes no other keys."))
        return 0
    if key == "not":
        return _check(node["not"], _join(path, "not"), depth + 1, problems)
    children = node[key]
    if not isinstance(children, list):
        problems.append((_join(path, key), "Expected a list of conditions."))
        return 0
    return sum(_check(child, f"{_join(path, key)}[{i}]", depth + 1, problems) for i, child in enumerate(children))


def _check_leaf(node: dict, path: str, problems: list) -> int:
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        problems.append((path, f"Unknown keys: {', '.join(sorted(map(str, unknown)))}."))
    field_name, op = node.get("field"), node.get("op")
    if field_name not in FIELDS:
        problems.append((_join(path, "field"), f"Unknown field {field_name!r}."))
        return 1
    spec = FIELDS[field_name]
    if op not in _OPS_BY_TYPE[spec.type]:
        allowed = ", ".join(sorted(_OPS_BY_TYPE[spec.type]))
        problems.append((_join(path, "op"), f"Operator {op!r} does not apply to {field_name} (use {allowed})."))
        return 1
    message = _value_problem(spec, op, node.get("value"), "value" in node)
    if message:
        problems.append((_join(path, "value"), message))
    return 1


def _value_problem(spec: Field, op: str, value, present: bool) -> str | None:
    if op == "exists":
        return None if not present or isinstance(value, bool) else "Use true or false (or leave it out)."
    if not present:
        return "A value is required."
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            return f"Expected a list of 1 to {MAX_LIST} values."
        return next(filter(None, (_scalar_problem(spec, item) for item in value)), None)
    return _scalar_problem(spec, value)


def _scalar_problem(spec: Field, value) -> str | None:
    if spec.type == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        return None if ok and abs(value) < 1e12 else "Expected a number."
    if spec.type == "bool":
        return None if isinstance(value, bool) else "Expected true or false."
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        return f"Expected text of at most {MAX_TEXT} characters."
    if spec.choices and value not in spec.choices:
        return f"Expected one of {', '.join(spec.choices)}."
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def evaluate(condition: dict, facts: dict) -> bool:
    """True when `facts` (field name → value) satisfy a validated `condition`."""
    if not condition:
        return True
    if "all" in condition:
        return all(evaluate(child, facts) for child in condition["all"])
    if "any" in condition:
        return any(evaluate(child, facts) for child in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], facts)
    return _compare(condition, facts)


def _compare(leaf: dict, facts: dict) -> bool:
    op, present = leaf["op"], facts.get(leaf["field"]) is not None
    if op == "exists":
        return present == leaf.get("value", True)
    if not present:
        return False
    fact, value = facts[leaf["field"]], leaf["value"]
    if FIELDS[leaf["field"]].type == "number":
        fact = float(fact)
        value = [float(v) for v in value] if isinstance(value, list) else float(value)
    return _APPLY[op](fact, value)


_APPLY = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
    "in": lambda a, b: a in b, "not_in": lambda a, b: a not in b,
    "contains": lambda a, b: b.lower() in str(a).lower(),
}


def describe(condition: dict) -> str:
    """Plain language for a validated condition, for the rule preview."""
    if not condition:
        return "always"
    if "all" in condition:
        return _describe_group(condition["all"], " and ", "always")
    if "any" in condition:
        return _describe_group(condition["any"], " or ", "never")
    if "not" in condition:
        return f"not ({describe(condition['not'])})"
    return _describe_leaf(condition)


def _describe_group(children: list, joiner: str, empty: str) -> str:
    parts = [describe(child) for child in children]
    if not parts:
        return empty
    return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"


def _describe_leaf(leaf: dict) -> str:
    label, op = FIELDS[leaf["field"]].label, leaf["op"]
    if op == "exists":
        return f"{label} is {'known' if leaf.get('value', True) else 'unknown'}"
    value = leaf["value"]
    shown = ", ".join(map(_show, value)) if isinstance(value, list) else _show(value)
    return f"{label} {OPERATORS[op]} {shown}"


def _show(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
