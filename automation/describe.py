"""Plain-language text for a rule's trigger, actions and limits (the builder's preview, the rules
list, the replay table), and what the builder's forms ask for each trigger and action.

Pure: names of channels and the deployment in scope are passed in, nothing is read here."""

from dataclasses import dataclass

from automation import conditions

DEFAULT_SUBJECT = "any deployment"


@dataclass(frozen=True)
class Input:
    """One parameter input of the builder: `kind` is number | text | select | bool | channels."""

    name: str
    label: str
    kind: str
    choices: tuple[tuple[str, str], ...] = ()
    step: str = "any"
    help: str = ""


# Labels of the trigger choices, in the order the builder lists them.
TRIGGER_LABELS = {
    "down": "A deployment goes down", "recovered": "A deployment recovers",
    "preempted": "A spot instance is preempted", "failed_to_start": "A deployment fails to start",
    "idle": "The GPU is idle", "cost_threshold": "Spend passes an amount",
    "budget_reached": "A budget is reached", "price_change": "A cheaper equal GPU appears",
    "price_below": "A GPU's price drops to a value", "schedule": "On a schedule",
}
PERIODS = (("total", "in total"), ("day", "in one day (UTC)"), ("month", "in one month (UTC)"))

TRIGGER_INPUTS: dict[str, tuple[Input, ...]] = {
    "down": (), "recovered": (), "preempted": (), "failed_to_start": (),
    "idle": (Input("threshold_percent", "GPU utilisation below (%)", "number"),
             Input("minutes", "For at least (minutes)", "number", step="1")),
    "cost_threshold": (Input("usd", "Spend above (USD)", "number"),
                       Input("period", "Counted", "select", PERIODS)),
    "budget_reached": (Input("budget_id", "Budget", "select", help="Any budget of the workspace, or one."),),
    "price_change": (Input("min_saving_percent", "At least this much cheaper (%)", "number"),
                     Input("minutes", "For at least (minutes)", "number", step="1")),
    "price_below": (Input("gpu_model", "GPU model", "select"),
                    Input("price", "At or below (USD per GPU-hour)", "number"),
                    Input("min_gpus", "With at least (GPUs)", "number", step="1"),
                    Input("provider", "On", "select"),
                    Input("include_spot", "Count spot prices too", "bool")),
    "schedule": (Input("cron", "Cron expression", "text", help="Minute hour day month weekday, e.g. 0 20 * * 1-5."),
                 Input("timezone", "Time zone", "text")),
}

ACTION_LABELS = {
    "restart": "Restart it", "stop": "Stop it", "delete": "Delete it",
    "migrate": "Move it to a cheaper equal offer", "failover": "Fail over to another provider",
    "rebid": "Re-bid the spot instance", "notify": "Notify channels", "webhook": "Call a webhook",
}
ACTION_INPUTS: dict[str, tuple[Input, ...]] = {
    "restart": (), "stop": (), "delete": (),
    "failover": (Input("max_attempts", "Offers to try at most", "number", step="1"),
                 Input("allow_spot", "Spot offers allowed", "bool")),
    "migrate": (Input("min_saving_percent", "Only if it saves at least (%)", "number"),),
    "rebid": (Input("max_bid", "Highest bid (USD/hour, empty: no ceiling)", "number"),
              Input("fallback_on_demand", "Fall back to on-demand", "bool"),
              Input("max_failures", "after this many failed bids", "number", step="1")),
    "notify": (Input("channels", "Channels (none ticked: every channel)", "channels"),
               Input("message", "Extra text (optional)", "text")),
    "webhook": (Input("channel", "Webhook channel", "select"),),
}


def _money(value) -> str:
    try:
        return f"${float(value):,.2f}"
    except (TypeError, ValueError):
        return "$?"


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "?" if value is None else str(value)


def subject(deployment_name: str | None) -> str:
    return f"“{deployment_name}”" if deployment_name else DEFAULT_SUBJECT


def describe_trigger(trigger: str, params: dict | None, *, deployment_name: str | None = None) -> str:
    """"When …" in words, e.g. "When “llama” has GPU utilisation below 5% for 30 minutes"."""
    params, who = params or {}, subject(deployment_name)
    phrase = _TRIGGER_PHRASES.get(trigger)
    return f"When {phrase(who, params)}" if phrase else f"When “{trigger}” happens"


def _idle(who, p):
    return f"{who} has GPU utilisation below {_number(p.get('threshold_percent', 5))}% " \
           f"for {_number(p.get('minutes', 30))} minutes"


def _cost(who, p):
    period = dict(PERIODS).get(p.get("period", "total"), "in total")
    return f"{who} has spent more than {_money(p.get('usd'))} {period}"


def _budget(who, p):
    return f"budget #{p['budget_id']} is reached" if p.get("budget_id") else "a budget of the workspace is reached"


def _price_change(who, p):
    return f"the same GPU configuration as {who} is at least {_number(p.get('min_saving_percent', 20))}% " \
           f"cheaper elsewhere for {_number(p.get('minutes', 30))} minutes"


def _price_below(who, p):
    where = f"on {p['provider']}" if p.get("provider") else "on any provider"
    spot = ", spot included" if p.get("include_spot") else ""
    count = f" ({_number(p['min_gpus'])}+ GPUs)" if (p.get("min_gpus") or 1) > 1 else ""
    return f"{p.get('gpu_model') or 'the GPU'}{count} costs {_money(p.get('price'))} per GPU-hour or less {where}{spot}"


def _schedule(who, p):
    return f"the clock matches “{p.get('cron', '?')}” ({p.get('timezone') or 'UTC'})"


_TRIGGER_PHRASES = {
    "down": lambda who, p: f"{who} goes down (or is still down after a restart)",
    "recovered": lambda who, p: f"{who} recovers",
    "preempted": lambda who, p: f"the spot instance of {who} is preempted",
    "failed_to_start": lambda who, p: f"{who} fails to start",
    "idle": _idle, "cost_threshold": _cost, "budget_reached": _budget,
    "price_change": _price_change, "price_below": _price_below, "schedule": _schedule,
}


def describe_action(action: dict, *, channel_names: dict | None = None) -> str:
    """One action in words, e.g. "notify Ops (Telegram)"."""
    kind, names = action.get("type"), channel_names or {}
    if kind == "migrate":
        percent = _number(action.get("min_saving_percent", 20))
        return f"move it to the cheapest equal offer if that saves at least {percent}%"
    if kind == "rebid":
        return _rebid(action)
    if kind == "notify":
        chosen = [names.get(str(c), "a removed channel") for c in action.get("channels") or []]
        return "notify " + (", ".join(chosen) if chosen else "every channel")
    if kind == "webhook":
        return f"call the webhook {names.get(str(action.get('channel')), 'channel')}"
    return _SIMPLE_ACTIONS.get(kind, f"do “{kind}”")


_SIMPLE_ACTIONS = {"restart": "restart it", "stop": "stop it", "delete": "delete it",
                   "failover": "fail over to the cheapest equal offer on another provider"}


def _rebid(action: dict) -> str:
    ceiling = f" (up to {_money(action['max_bid'])}/hour)" if action.get("max_bid") else ""
    text = f"relaunch the spot instance at the current minimum bid{ceiling}"
    if action.get("fallback_on_demand", True):
        text += f", then on-demand after {_number(action.get('max_failures', 3))} failed bids"
    return text


def describe_actions(actions: list, *, channel_names: dict | None = None) -> str:
    parts = [describe_action(a, channel_names=channel_names) for a in actions or [] if isinstance(a, dict)]
    if not parts:
        return "do nothing yet (add an action)"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def describe_conditions(condition: dict | None) -> str:
    """"if …" part; text for conditions that are not valid yet rather than an error."""
    try:
        conditions.validate(condition or {})
    except conditions.ConditionError:
        return "the conditions hold (some are not complete yet)"
    return conditions.describe(condition or {})


def describe_limits(*, cooldown_s: int, max_per_hour: int) -> str:
    return f"At most once every {_duration(cooldown_s)} and {max_per_hour} times per hour for each deployment."


def _duration(seconds) -> str:
    seconds = int(seconds or 0)
    if seconds < 60:
        return f"{seconds} seconds"
    if seconds % 3600 == 0:
        return "hour" if seconds == 3600 else f"{seconds // 3600} hours"
    return "minute" if seconds == 60 else f"{_number(round(seconds / 60, 1))} minutes"


def describe_rule(data: dict, *, deployment_name: str | None = None, channel_names: dict | None = None) -> str:
    """The whole rule in two or three sentences, e.g. "When any deployment goes down, if provider
    is vast, then restart it. At most once every 5 minutes and 3 times per hour for each deployment.\""""
    when = describe_trigger(data.get("trigger", ""), data.get("trigger_params"), deployment_name=deployment_name)
    condition = data.get("conditions") or {}
    when_if = f"{when}, if {describe_conditions(condition)}" if condition else when
    text = f"{when_if}, then {describe_actions(data.get('actions'), channel_names=channel_names)}. "
    text += describe_limits(cooldown_s=data.get("cooldown_s", 300), max_per_hour=data.get("max_per_hour", 3))
    if data.get("dry_run"):
        text += " Dry run: it records what it would do and does nothing."
    return text


def operators_for(field_name: str) -> list[tuple[str, str]]:
    """(operator, words) the condition language accepts for `field_name`, asked of its validator."""
    allowed = []
    for op, words in conditions.OPERATORS.items():
        try:
            conditions.validate({"field": field_name, "op": op})
        except conditions.ConditionError as error:
            if any(path.endswith("op") for path, _ in error.problems):
                continue
        allowed.append((op, words))
    return allowed


POLICY_INPUTS: dict[str, tuple[Input, ...]] = {
    "auto_restart": (Input("max_per_hour", "Restarts per hour at most", "number", step="1"),
                     Input("cooldown_s", "Wait between restarts (seconds)", "number", step="1")),
    "failover": (),
    "cost_cap": (Input("limit_usd", "Budget (USD)", "number"),
                 Input("period", "Counted", "select"),
                 Input("action", "At the budget", "select", (("stop", "Stop it"), ("delete", "Delete it")))),
    "price_migration": (Input("min_saving_percent", "At least this much cheaper (%)", "number"),
                        Input("minutes", "For at least (minutes)", "number", step="1")),
    "spot_refill": (Input("max_bid", "Highest bid (USD/hour; empty: twice today's)", "number"),
                    Input("fallback_on_demand", "Fall back to on-demand", "bool"),
                    Input("max_failures", "after this many failed bids", "number", step="1")),
    "idle_shutdown": (Input("threshold_percent", "GPU utilisation below (%)", "number"),
                      Input("minutes", "For at least (minutes)", "number", step="1")),
}


def cost_cap_periods(*, for_deployment: bool) -> tuple[tuple[str, str], ...]:
    """A deployment's cap counts in total or per day, the workspace's per month."""
    wanted = ("total", "day") if for_deployment else ("month",)
    return tuple(choice for choice in PERIODS if choice[0] in wanted)
