""""Test against the last 7 days": replays a workspace's recorded history (automation events,
health flips, status changes, metric samples, price points, spend) through a rule, saved or not,
and says what it would have done and what that would have cost or saved.

    replay_rule(workspace=, data=) -> ReplayResult     (loads, validates, replays)
    simulate.replay(spec, history) -> ReplayResult      (pure, over hand-made history in tests)
"""

import uuid
from datetime import timedelta

from django.utils import timezone

from automation import conditions
from automation.replay.load import load_history
from automation.replay.simulate import ReplayResult, ReplayRow, replay
from automation.replay.spec import RuleSpec
from computehub.errors import ApplicationError

WINDOW = timedelta(days=7)

__all__ = ["ReplayResult", "ReplayRow", "RuleSpec", "replay", "replay_rule"]


def replay_rule(*, workspace, data: dict, now=None, window: timedelta = WINDOW) -> ReplayResult:
    """What the rule in `data` (the dict rule_create takes) would have done over the window; an
    ApplicationError with `fields` when the trigger or the conditions cannot be replayed yet."""
    spec = _spec(data)
    end = now or timezone.now()
    history = load_history(workspace=workspace, spec=spec, start=end - window, end=end)
    if spec.deployment_id and spec.deployment_id not in history.deployments:
        raise ApplicationError("That deployment is not in this workspace.",
                               fields={"deployment": ["Choose a deployment of this workspace."]})
    result = replay(spec, history)
    if history.samples or spec.trigger == "idle":
        result.approximations["metrics"] = (
            "Metrics older than 24 hours are replayed from 5-minute summaries: GPU utilisation as the "
            "highest reading in each 5 minutes, the others as averages")
    return result


def _spec(data: dict) -> RuleSpec:
    from automation.engine.params import TRIGGER_PARAMS, clean_trigger_params

    trigger = data.get("trigger")
    if trigger not in TRIGGER_PARAMS:
        raise ApplicationError("Choose a trigger first.", fields={"trigger": ["Choose what starts the rule."]})
    cleaned = clean_trigger_params(trigger, data.get("trigger_params"))
    if cleaned.problems:
        raise ApplicationError("The trigger is not complete.", fields={
            "trigger_params": [f"{key}: {message}" if key else message for key, message in cleaned.problems]})
    try:
        conditions.validate(data.get("conditions") or {})
    except conditions.ConditionError as exc:
        raise ApplicationError("The conditions are not complete.", fields={
            "conditions": [f"{path}: {message}" if path else message for path, message in exc.problems]}) from exc
    try:
        spec = RuleSpec.from_data({**data, "trigger_params": cleaned.value})
        if spec.deployment_id:
            uuid.UUID(spec.deployment_id)
    except (TypeError, ValueError) as exc:
        raise ApplicationError("Check the deployment, cooldown and hourly cap.",
                               fields={"deployment": ["Choose a deployment of this workspace."]}) from exc
    return spec
