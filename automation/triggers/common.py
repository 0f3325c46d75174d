"""What every trigger evaluator shares: a bounded, rotating slice of the rules to look at, an
emit that does not even try when the fact is already recorded, and conditional writes of a
rule's bookkeeping (`Rule.state`) so two workers never both act on one change."""

import logging

from django.core.cache import cache
from django.db.models import QuerySet

from automation.events import event_emit
from automation.models import AutomationEvent, Rule
from deployments.models import Deployment, Status

logger = logging.getLogger(__name__)

RULES_PER_CALL = 200
DEPLOYMENTS_PER_RULE = 200


def rules_batch(trigger: str, *, limit: int = RULES_PER_CALL) -> list[Rule]:
    """Up to `limit` enabled rules with `trigger`, continuing after where the last call stopped."""
    rules = Rule.objects.filter(trigger=trigger, enabled=True).select_related("workspace", "deployment")
    return rotating_batch(rules, f"rules:{trigger}", limit=limit)


def rotating_batch(rows: QuerySet, cursor: str, *, limit: int) -> list:
    """Up to `limit` of `rows` by pk, starting after the last call's final pk and wrapping
    around. The cursor is shared through the cache; a lost cursor only means a row is looked at
    twice, which every evaluator tolerates."""
    key = f"automation:triggers:cursor:{cursor}"
    after = cache.get(key) or 0
    batch = list(rows.filter(pk__gt=after).order_by("pk")[:limit])
    if len(batch) < limit:
        batch += list(rows.filter(pk__lte=after).order_by("pk")[: limit - len(batch)])
    if batch:
        cache.set(key, batch[-1].pk, timeout=None)
    return batch


def running_in_scope(rule: Rule) -> list[Deployment]:
    """The rule's own deployment if it is running, else the workspace's running deployments."""
    rows = Deployment.objects.filter(workspace_id=rule.workspace_id, status=Status.RUNNING)
    if rule.deployment_id:
        rows = rows.filter(pk=rule.deployment_id)
    return list(rows.select_related("workspace").order_by("created_at", "pk")[:DEPLOYMENTS_PER_RULE])


def emit_once(*, dedup_key: str, **fields) -> bool:
    """True when this call wrote the event; the existence check spares a failing insert per tick."""
    if AutomationEvent.objects.filter(dedup_key=dedup_key[:200]).exists():
        return False
    return event_emit(dedup_key=dedup_key, **fields) is not None


def save_rule_state(rule: Rule, state: dict) -> bool:
    """Write `state` only if nobody changed the rule's state since we read it; updates `rule`."""
    if state == rule.state:
        return True
    if not Rule.objects.filter(pk=rule.pk, state=rule.state).update(state=state):
        return False
    rule.state = state
    return True


def number_param(rule: Rule, *names: str, default: float | None = None) -> float | None:
    """The first of `names` in the rule's trigger_params as a number; `default` when absent or bad."""
    for name in names:
        value = (rule.trigger_params or {}).get(name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                continue
    return default


def safely(evaluate, subject, *args) -> int:
    """`evaluate(subject, *args)`, or 0 when it fails: one odd rule must not starve the others."""
    try:
        return int(evaluate(subject, *args))
    except Exception:
        logger.exception("trigger evaluation of %s %s failed", type(subject).__name__, subject.pk)
        return 0
