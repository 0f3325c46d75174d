"""Writes of rules. Everything is validated before anything is written: a refused rule raises
ApplicationError with `fields` (one key per rule field, each message naming where in it the
problem is, e.g. "actions[1].max_bid: Must be above 0.") and leaves nothing stored.

`data` keys: name, trigger, trigger_params, conditions, actions, escalation, cooldown_s,
max_per_hour, deployment (a Deployment, its UUID, or None for the whole workspace), dry_run,
enabled, position, policy. Unknown keys are refused."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from django.db import transaction
from django.utils import timezone

from automation import conditions as condition_language
from automation.engine import params as p
from automation.models import Budget, ChannelKind, NotificationChannel, Rule, Trigger
from computehub.errors import ApplicationError
from deployments.models import Deployment

FIELDS = ("name", "trigger", "trigger_params", "conditions", "actions", "escalation", "cooldown_s",
          "max_per_hour", "deployment", "dry_run", "enabled", "position", "policy")
DEFAULTS = {"trigger_params": {}, "conditions": {}, "actions": [], "escalation": [], "cooldown_s": 300,
            "max_per_hour": 3, "deployment": None, "dry_run": False, "enabled": True, "position": 0, "policy": ""}
# Trigger params whose change restarts the trigger's bookkeeping (sustained conditions, cron).
_INVALID = "Some fields are invalid."


class _Errors(dict):
    def add(self, key: str, message: str) -> None:
        self.setdefault(key, []).append(message)

    def add_all(self, key: str, prefix: str, problems) -> None:
        for where, message in problems:
            path = ".".join(part for part in (prefix, where) if part)
            self.add(key, f"{path}: {message}" if path else message)


def rule_create(*, workspace, user, data: dict) -> Rule:
    values = _validated(workspace, {**DEFAULTS, **data}, data)
    rule = Rule(workspace=workspace, created_by=user, **values)
    rule.next_fire_at = _next_fire(rule)
    rule.save()
    return rule


def rule_update(*, rule: Rule, user, data: dict) -> Rule:
    """Apply `data` (any subset of the fields) on top of the rule's current values."""
    current = {name: getattr(rule, name) for name in FIELDS}
    values = _validated(rule.workspace, {**current, **data}, data)
    restarted = (values["trigger"], values["trigger_params"]) != (rule.trigger, rule.trigger_params)
    for name, value in values.items():
        setattr(rule, name, value)
    if restarted:
        rule.state, rule.next_fire_at = {}, _next_fire(rule)
    rule.save()
    return rule


def rule_delete(*, rule: Rule, user) -> None:
    """Past runs stay (their rule becomes null) so the history of what automation did remains."""
    with transaction.atomic():
        rule.delete()


def rule_validate(*, workspace, data: dict) -> dict:
    """The cleaned values of a would-be rule, or ApplicationError; writes nothing (rule previews)."""
    return _validated(workspace, {**DEFAULTS, **data}, data)


def _validated(workspace, values: dict, given: dict) -> dict:
    errors = _Errors()
    for key in sorted(set(given) - set(FIELDS)):
        errors.add(str(key), "Unknown field.")
    cleaned = {
        "name": _name(values.get("name"), errors),
        "trigger": _trigger(values.get("trigger"), errors),
        "conditions": _conditions(values.get("conditions"), errors),
        "deployment": _deployment(workspace, values.get("deployment"), errors),
        "cooldown_s": _whole(values.get("cooldown_s"), 0, 86400, "cooldown_s", errors),
        "max_per_hour": _whole(values.get("max_per_hour"), 1, 60, "max_per_hour", errors),
        "position": _whole(values.get("position"), 0, 100000, "position", errors),
        "dry_run": _flag(values.get("dry_run"), "dry_run", errors),
        "enabled": _flag(values.get("enabled"), "enabled", errors),
        "policy": _policy(values.get("policy"), errors),
    }
    cleaned["trigger_params"] = _trigger_params(workspace, cleaned["trigger"], values.get("trigger_params"), errors)
    cleaned["actions"] = _actions(workspace, values.get("actions"), "actions", 1, p.MAX_ACTIONS, errors)
    cleaned["escalation"] = _actions(workspace, values.get("escalation"), "escalation", 0, p.MAX_ESCALATION, errors)
    if errors:
        raise ApplicationError(_INVALID, code="validation_error", fields=dict(errors))
    return cleaned


def _name(value, errors: _Errors) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.add("name", "Give the rule a name.")
    elif len(value.strip()) > 120:
        errors.add("name", "At most 120 characters.")
    return value.strip() if isinstance(value, str) else ""


def _trigger(value, errors: _Errors) -> str | None:
    if value not in Trigger.values:
        errors.add("trigger", f"Expected one of {', '.join(Trigger.values)}.")
        return None
    return value


def _trigger_params(workspace, trigger, params, errors: _Errors) -> dict:
    if trigger is None:
        return {}
    cleaned = p.clean_trigger_params(trigger, params)
    errors.add_all("trigger_params", "", cleaned.problems)
    budget_id = cleaned.value.get("budget_id")
    if budget_id is not None and not Budget.objects.filter(workspace=workspace, pk=budget_id).exists():
        errors.add("trigger_params", "budget_id: No such budget in this workspace.")
    return cleaned.value


def _conditions(value, errors: _Errors) -> dict:
    value = {} if value is None else value
    try:
        return condition_language.validate(value)
    except condition_language.ConditionError as error:
        errors.add_all("conditions", "", [(path or "condition", message) for path, message in error.problems])
        return {}


def _deployment(workspace, value, errors: _Errors):
    if value is None or value == "":
        return None
    deployment_id = value.pk if isinstance(value, Deployment) else value
    try:
        found = Deployment.objects.filter(workspace=workspace, pk=uuid.UUID(str(deployment_id))).first()
    except ValueError:
        found = None
    if found is None:
        errors.add("deployment", "No such deployment in this workspace.")
    return found


def _whole(value, low: int, high: int, key: str, errors: _Errors) -> int:
    message = p.number(low, high, integer=True)(value)
    if message:
        errors.add(key, message)
        return low
    return int(value)


def _flag(value, key: str, errors: _Errors) -> bool:
    if not isinstance(value, bool):
        errors.add(key, "Expected true or false.")
    return bool(value)


def _policy(value, errors: _Errors) -> str:
    from automation.policies import POLICIES  # policies import this module

    if value in ("", None):
        return ""
    if value not in POLICIES:
        errors.add("policy", "Unknown policy.")
    return str(value)


def _actions(workspace, value, key: str, least: int, most: int, errors: _Errors) -> list:
    value = [] if value is None and least == 0 else value
    if not isinstance(value, list) or not least <= len(value) <= most:
        errors.add(key, f"Expected {least} to {most} actions." if least else f"At most {most} actions.")
        return []
    cleaned = []
    for index, action in enumerate(value):
        one = p.clean_action(action)
        errors.add_all(key, f"{key}[{index}]", one.problems + _channel_problems(workspace, one.value))
        cleaned.append(one.value)
    return cleaned


def _channel_problems(workspace, action: dict) -> list[tuple[str, str]]:
    channels = NotificationChannel.objects.filter(workspace=workspace)
    if action.get("type") == "notify" and action.get("channels"):
        ids = _uuids(action["channels"])
        if ids is None or channels.filter(pk__in=ids).count() != len(set(ids)):
            return [("channels", "Choose channels of this workspace.")]
        action["channels"] = [str(i) for i in ids]
    if action.get("type") == "webhook" and action.get("channel"):
        ids = _uuids([action["channel"]])
        if ids is None or not channels.filter(pk=ids[0], kind=ChannelKind.WEBHOOK).exists():
            return [("channel", "Choose a webhook channel of this workspace.")]
        action["channel"] = str(ids[0])
    return []


def _uuids(values: list) -> list[uuid.UUID] | None:
    try:
        return [uuid.UUID(str(value)) for value in values]
    except ValueError:
        return None


def _next_fire(rule: Rule) -> datetime | None:
    """When a schedule rule fires next (the triggers lane keeps it moving from there)."""
    if rule.trigger != Trigger.SCHEDULE:
        return None
    zone = ZoneInfo(rule.trigger_params["timezone"])
    return croniter(rule.trigger_params["cron"], timezone.now().astimezone(zone)).get_next(datetime)
