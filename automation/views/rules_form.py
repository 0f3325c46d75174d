"""The rule builder's form: reading its POST into the dict rule_create takes (the condition and
action lists arrive as JSON the page's script keeps in hidden inputs), sorting the service's
field errors into the block they belong to, and the widgets each block shows, filled from a
rule, its defaults, or what was just posted (so nothing typed is lost on an error)."""

import json
import re
from dataclasses import dataclass, field

from automation import conditions, describe
from automation.engine.params import ACTION_PARAMS, ACTION_TYPES, REQUIRED, TRIGGER_PARAMS

NEW_RULE = {"name": "", "trigger": "down", "trigger_params": {}, "conditions": {}, "actions": [{"type": "restart"}],
            "escalation": [], "cooldown_s": 300, "max_per_hour": 3, "dry_run": False, "enabled": True,
            "deployment": None}
_ROW = re.compile(r"^(?:all|any)\[(\d+)\][.]?([\w.]*): (.*)$")
_ACTION_ROW = re.compile(r"^actions\[(\d+)\][.]?(\w*): (.*)$")
_PARAM = re.compile(r"^(\w+): (.*)$")


def number_or_text(raw: str):
    """A number as JSON would carry it; text that is not one stays text (the service says why)."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    return int(value) if value.is_integer() and "." not in raw else value


def _json(post, key: str, default, problems: dict):
    raw = post.get(key, "")
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except ValueError:
        problems.setdefault(key, []).append("The page sent something unreadable; reload it and try again.")
        return default


def _trigger_params(post, trigger: str) -> dict:
    params = {}
    for spec in describe.TRIGGER_INPUTS.get(trigger, ()):
        raw = post.get(f"tp-{trigger}-{spec.name}", "").strip()
        if spec.kind == "bool":
            params[spec.name] = raw == "on"
        elif raw:
            params[spec.name] = number_or_text(raw) if spec.kind == "number" or spec.name == "budget_id" else raw
    return params


def _cooldown_s(raw: str):
    value = number_or_text(raw.strip() or "0")
    return round(value * 60) if isinstance(value, (int, float)) else value


def rule_data_from_post(post) -> tuple[dict, dict]:
    """(data for rule_create / rule_update, problems with the form itself by field)."""
    problems: dict = {}
    trigger = post.get("trigger", "")
    data = {
        "name": post.get("name", "").strip(), "trigger": trigger,
        "trigger_params": _trigger_params(post, trigger),
        "conditions": _json(post, "conditions", {}, problems),
        "actions": _json(post, "actions", [], problems),
        "escalation": _json(post, "escalation", [], problems),
        "cooldown_s": _cooldown_s(post.get("cooldown_min", "")),
        "max_per_hour": number_or_text(post.get("max_per_hour", "").strip() or "0"),
        "dry_run": post.get("dry_run") == "on", "enabled": post.get("enabled") == "on",
        "deployment": post.get("deployment") or None,
    }
    return data, problems


@dataclass
class BlockErrors:
    """Service errors placed where the person will look: by block, by row, by parameter."""

    blocks: dict = field(default_factory=dict)  # name / when / if / then / settings key → [messages]
    condition_rows: dict = field(default_factory=dict)  # row index → [messages]
    action_rows: dict = field(default_factory=dict)
    trigger_params: dict = field(default_factory=dict)  # param name → [messages]

    def __bool__(self):
        return any((self.blocks, self.condition_rows, self.action_rows, self.trigger_params))

    def add(self, block: str, message: str) -> None:
        self.blocks.setdefault(block, []).append(message)


_BLOCK_OF = {"name": "name", "trigger": "when", "escalation": "then", "cooldown_s": "cooldown_s",
             "max_per_hour": "max_per_hour", "deployment": "deployment", "dry_run": "settings",
             "enabled": "settings", "policy": "settings", "actions": "then", "conditions": "if"}


def sort_errors(fields: dict) -> BlockErrors:
    errors = BlockErrors()
    for key, messages in fields.items():
        for message in messages if isinstance(messages, list) else [messages]:
            _place(errors, key, str(message))
    return errors


def _place(errors: BlockErrors, key: str, message: str) -> None:
    if key == "cooldown_s":
        message = "Between 0 and 1440 minutes." if "between" in message.lower() else message
    row, action_row, param = _ROW.match(message), _ACTION_ROW.match(message), _PARAM.match(message)
    if key == "conditions" and row:
        errors.condition_rows.setdefault(int(row[1]), []).append(row[3])
    elif key == "actions" and action_row:
        where = f"{action_row[2].replace('_', ' ')}: " if action_row[2] else ""
        errors.action_rows.setdefault(int(action_row[1]), []).append(where + action_row[3])
    elif key == "trigger_params" and param:
        errors.trigger_params.setdefault(param[1], []).append(param[2])
    else:
        errors.add(_BLOCK_OF.get(key, "general"), message)


def _default(param) -> object:
    return "" if param.default is REQUIRED or param.default is None else param.default


def _shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def widget(spec: describe.Input, value, *, html_name: str, choices=(), errors=()) -> dict:
    return {"name": html_name, "key": spec.name, "label": spec.label, "kind": spec.kind, "value": _shown(value),
            "values": [str(v) for v in value] if isinstance(value, list) else [], "step": spec.step,
            "help": spec.help, "choices": choices or spec.choices, "errors": list(errors), "id": f"id_{html_name}"}


def trigger_blocks(data: dict, errors: BlockErrors, choices: dict) -> list[dict]:
    """Every trigger with its parameter widgets: the chosen one filled from the rule, the others
    with defaults, so switching back and forth keeps what was typed before saving."""
    blocks = []
    for slug, label in describe.TRIGGER_LABELS.items():
        chosen = slug == data.get("trigger")
        params = data.get("trigger_params") or {} if chosen else {}
        widgets = [widget(spec, params.get(spec.name, _default(TRIGGER_PARAMS[slug][spec.name])),
                          html_name=f"tp-{slug}-{spec.name}", choices=choices.get(spec.name, ()),
                          errors=errors.trigger_params.get(spec.name, []) if chosen else [])
                   for spec in describe.TRIGGER_INPUTS[slug]]
        blocks.append({"slug": slug, "label": label, "chosen": chosen, "widgets": widgets})
    return blocks


def action_row(action: dict, index: int | str, choices: dict, errors=()) -> dict:
    """One "Then" row: its type and every type's parameter widgets (the script shows one set)."""
    kind = action.get("type", "restart")
    groups = []
    for slug in ACTION_TYPES:
        values = action if slug == kind else {}
        widgets = [widget(spec, values.get(spec.name, _default(ACTION_PARAMS[slug][spec.name])),
                          html_name=f"a{index}-{slug}-{spec.name}", choices=choices.get(spec.name, ()))
                   for spec in describe.ACTION_INPUTS[slug]]
        groups.append({"slug": slug, "widgets": widgets})
    return {"index": index, "type": kind, "groups": groups, "errors": list(errors),
            "types": list(describe.ACTION_LABELS.items())}


def flat_conditions(condition: dict) -> tuple[list | None, str]:
    """(rows, "all" | "any") when the builder can show the condition as rows; None when nested."""
    if not condition:
        return [], "all"
    group = "all" if "all" in condition else "any" if "any" in condition else None
    if group is None or not isinstance(condition[group], list):
        return ([condition], "all") if "field" in condition else (None, "all")
    rows = condition[group]
    return (rows, group) if all(isinstance(r, dict) and "field" in r for r in rows) else (None, group)


def condition_row(leaf: dict, index: int | str, errors=()) -> dict:
    name = leaf.get("field") if leaf.get("field") in conditions.FIELDS else "deployment.provider"
    spec, op, value = conditions.FIELDS[name], leaf.get("op", "eq"), leaf.get("value")
    return {"index": index, "field": name, "op": op, "type": spec.type, "choices": spec.choices,
            "ops": describe.operators_for(name), "errors": list(errors),
            "value_text": ", ".join(map(_plain, value)) if isinstance(value, list) else _plain(value),
            "value_bool": "false" if value is False else "true"}


def _plain(value) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return _shown(value)


def field_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """Condition fields grouped by what they describe, for the field <select>."""
    titles = {"deployment": "Deployment", "health": "Health", "automation": "Automation", "event": "Event",
              "metrics": "Metrics", "price": "Prices", "spend": "Spend", "time": "Time"}
    groups: dict = {}
    for name, spec in conditions.FIELDS.items():
        groups.setdefault(titles.get(name.split(".")[0], "Other"), []).append((name, spec.label))
    return list(groups.items())


def builder_meta() -> dict:
    """What the page's script needs to rebuild a condition row when its field changes."""
    return {"fields": {name: {"type": spec.type, "choices": list(spec.choices)}
                       for name, spec in conditions.FIELDS.items()},
            "ops": {name: describe.operators_for(name) for name in conditions.FIELDS}}


BLOCK_WORDS = {"name": "Name", "trigger": "When", "trigger_params": "When", "conditions": "If", "actions": "Then",
               "escalation": "When capped", "cooldown_s": "Cooldown", "max_per_hour": "Hourly cap",
               "deployment": "Applies to", "dry_run": "Dry run", "enabled": "On"}


def plain_problems(exc) -> list[str]:
    """An ApplicationError's field messages as "Block: message" lines for a summary."""
    lines = [f"{BLOCK_WORDS.get(key, 'Rule')}: {message}" for key, messages in (exc.fields or {}).items()
             for message in (messages if isinstance(messages, list) else [messages])]
    return lines or [exc.message]


def cooldown_minutes(seconds) -> str:
    return _shown(round(seconds / 60, 2)) if isinstance(seconds, (int, float)) else str(seconds or "")
