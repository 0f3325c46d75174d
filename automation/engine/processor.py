"""Claim events, decide per rule, act, record. Safe with any number of workers:

- an event is claimed by one conditional UPDATE (unclaimed, or claimed over STALE_CLAIM_S ago and
  never finished: its worker died); the claim is renewed just before the event is handled (handling
  one only writes rows), and ends when processed_at is set;
- each (rule, event) gets one RuleRun, inserted BEFORE any action: the unique constraint makes a
  second worker's insert fail, and that worker then does nothing more for that rule."""

import logging
import time
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from automation.engine import decide as d
from automation.engine.actions import DONE_WORDS, PEOPLE_ACTIONS, ActionContext, run_action
from automation.events import event_emit
from automation.models import AutomationEvent, EventType, Rule, RuleRun, RunOutcome
from deployments.models import EventKind
from deployments.services import event_record

logger = logging.getLogger(__name__)
# A dead worker's event is taken over this soon (a cost cap's stop must be issued within 60 s).
STALE_CLAIM_S = 10
# Most urgent first: what a run with several targets reports as a whole.
_OUTCOME_ORDER = (RunOutcome.FAILED, RunOutcome.PENDING, RunOutcome.DONE, RunOutcome.ESCALATED,
                  RunOutcome.DRY_RUN, RunOutcome.CAPPED, RunOutcome.COOLDOWN, RunOutcome.SKIPPED)


def process_events(limit: int = 200) -> int:
    events = claim_events(limit)
    for event in events:
        if _renew_claim(event):
            handle_event(event)
    return len(events)


def _renew_claim(event: AutomationEvent) -> bool:
    """Still ours (not taken over while the events before it were handled): claimed afresh."""
    return AutomationEvent.objects.filter(pk=event.pk, claimed_by=event.claimed_by, processed_at__isnull=True).update(
        claimed_at=timezone.now()) == 1


def _open(now) -> Q:
    stale = now - timedelta(seconds=STALE_CLAIM_S)
    return Q(processed_at__isnull=True) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))


def claim_events(limit: int = 200) -> list[AutomationEvent]:
    """Events this worker now holds (oldest first); another worker's UPDATE of the same rows
    finds them claimed and skips them."""
    now, token = timezone.now(), uuid.uuid4().hex
    ids = list(AutomationEvent.objects.filter(_open(now)).order_by("id").values_list("id", flat=True)[:limit])
    if not ids:
        return []
    AutomationEvent.objects.filter(_open(now), pk__in=ids).update(claimed_at=now, claimed_by=token)
    return list(AutomationEvent.objects.filter(pk__in=ids, claimed_by=token, processed_at__isnull=True)
                .select_related("workspace", "deployment__workspace").order_by("id"))


def handle_event(event: AutomationEvent) -> None:
    for rule in d.rules_for_event(event):
        try:
            run_rule(rule, event)
        except Exception:  # one broken rule must not keep the event (and the others) from finishing
            logger.exception("rules engine: rule %s on event %s failed", rule.pk, event.pk)
    AutomationEvent.objects.filter(pk=event.pk, claimed_by=event.claimed_by).update(processed_at=timezone.now())


def run_rule(rule: Rule, event: AutomationEvent) -> RuleRun | None:
    """Decide for each target, record the run, act. None when nothing matched or when another
    worker already recorded this rule's run for the event."""
    started, clock = timezone.now(), time.perf_counter()
    decided = (d.decide(rule, event, target, started) for target in d.targets_for(rule, event))
    decisions = [decision for decision in decided if decision.plan != RunOutcome.NOT_MATCHED]
    if not decisions:
        return None
    # One transaction: a worker dying between recording the run and acting leaves neither, so the
    # event's stale claim is re-run by another worker instead of the action being lost (the
    # actions only write rows; provider calls happen later in the reconciler and operations).
    with transaction.atomic():
        run = _insert_run(rule, event, decisions, started)
        if run is None:
            return None
        results = _execute(rule, event, run, decisions)
        _finish(run, decisions, results, (time.perf_counter() - clock) * 1000)
        _tell_timeline(rule, run, decisions, results)
    return run


def _insert_run(rule: Rule, event, decisions: list, started) -> RuleRun | None:
    acting = any(decision.plan in (d.ACT, d.ESCALATE) for decision in decisions)
    single = decisions[0].target if len(decisions) == 1 else None
    try:
        with transaction.atomic():
            return RuleRun.objects.create(
                rule=rule, workspace_id=rule.workspace_id, deployment=single, event=event, rule_name=rule.name,
                trigger=rule.trigger, dry_run=rule.dry_run, started_at=started,
                outcome=RunOutcome.PENDING if acting else _overall([x.plan for x in decisions]),
                decision={"event_type": event.type, "targets": [x.as_json() for x in decisions],
                          "facts": decisions[0].facts if len(decisions) == 1 else {}})
    except IntegrityError:
        return None  # another worker recorded (and handles) this rule for this event


def _execute(rule: Rule, event, run: RuleRun, decisions: list) -> list[dict]:
    results, people = [], []
    for decision in decisions:
        actions = rule.actions if decision.plan == d.ACT else rule.escalation if decision.plan == d.ESCALATE else []
        summary = []
        for action in actions:
            if action["type"] in PEOPLE_ACTIONS:
                people.append((action, decision.plan))
                continue
            result = run_action(ActionContext(rule, run, event, decision.target, action, ""))
            results.append(result)
            summary.append(_words(result))
        decision.summary = summary
        if decision.plan == d.ESCALATE:
            _urgent(rule, run, event, decision)
    return results + _tell_people(rule, run, event, decisions, people)


def _tell_people(rule: Rule, event_run, event, decisions: list, people: list) -> list[dict]:
    """Notify / webhook actions run once per run (not once per target), after the others, so the
    message says what was done."""
    done, seen, results = [w for x in decisions for w in x.summary], set(), []
    target = decisions[0].target if len(decisions) == 1 else None
    for index, (action, plan) in enumerate(people):
        key = (action["type"], str(action.get("channels") or action.get("channel")), plan)
        if key in seen:
            continue
        seen.add(key)
        message_key = f"rulerun:{event_run.pk}" + (f":{index}" if index else "")
        ctx = ActionContext(rule, event_run, event, target, action, message_key, summary=done)
        results.append(run_action(ctx))
    return results


def _words(result: dict) -> str:
    words = DONE_WORDS.get(result["type"], result["type"])
    if result["status"] in ("done", "pending"):
        return words
    return f"{result['type']} {result['status']}: {result['detail']}"


def _urgent(rule: Rule, run: RuleRun, event, decision) -> None:
    target = decision.target
    name = target.name if target is not None else "the workspace"
    done = "; ".join(decision.summary) or "nothing more automation can do"
    event_emit(workspace=rule.workspace, type=EventType.URGENT, deployment=target,
               dedup_key=f"escalation:{run.pk}:{target.pk if target is not None else 'workspace'}",
               summary=f"{name}: “{rule.name}” hit its limit of {rule.max_per_hour} an hour and it is not fixed; "
                       f"escalated: {done}",
               data={"rule_id": rule.pk, "rule_run_id": run.pk, "event_id": event.pk})


def _target_outcome(decision, results: list[dict]) -> str:
    if decision.plan == d.ESCALATE:
        return RunOutcome.ESCALATED
    if decision.plan != d.ACT:
        return decision.plan
    mine = [r for r in results if r["deployment"] == (str(decision.target.pk) if decision.target else None)]
    statuses = {r["status"] for r in mine}
    return RunOutcome.FAILED if "failed" in statuses else RunOutcome.PENDING if "pending" in statuses \
        else RunOutcome.DONE


def _overall(outcomes: list[str]) -> str:
    return min(outcomes, key=lambda o: _OUTCOME_ORDER.index(o) if o in _OUTCOME_ORDER else len(_OUTCOME_ORDER))


def _finish(run: RuleRun, decisions: list, results: list[dict], duration_ms: float) -> None:
    for decision in decisions:
        decision.outcome = _target_outcome(decision, results)
    outcome = _overall([x.outcome for x in decisions])
    detail = " | ".join(_line(x) for x in decisions)[:500]
    fields = {"actions": results, "duration_ms": round(duration_ms, 2), "detail": detail}
    run.actions, run.duration_ms, run.detail = results, fields["duration_ms"], detail
    if outcome == RunOutcome.PENDING:
        # The operation that was started closes the run; never overwrite its verdict.
        RuleRun.objects.filter(pk=run.pk).update(**fields)
    else:
        RuleRun.objects.filter(pk=run.pk).update(outcome=outcome, **fields)
        run.outcome = outcome


def _line(decision) -> str:
    summary = "; ".join(decision.summary)
    if decision.plan == d.ACT and summary:
        return f"{summary[0].upper()}{summary[1:]} ({decision.reason})"
    if decision.plan == d.ESCALATE:
        return f"{decision.reason} {summary or 'Nothing to escalate to'}."
    return decision.reason


def _tell_timeline(rule: Rule, run: RuleRun, decisions: list, results: list[dict]) -> None:
    for decision in decisions:
        if decision.target is None:
            continue
        prefix = f"{rule.name}{' (dry run)' if rule.dry_run else ''}"
        event_record(deployment=decision.target, kind=EventKind.AUTOMATION,
                     message=f"{prefix}: {_line(decision)}",
                     data={"rule_id": rule.pk, "rule_run_id": run.pk, "event_id": run.event_id,
                           "outcome": decision.outcome})
