"""What each trigger and each action accepts: pure validation of their parameter dicts (anything
that needs the workspace, such as channel or budget ownership, is passed in as a lookup).

Each `clean_*` returns (cleaned params with defaults filled, problems) where problems are
(key, message) pairs; callers prefix the key with where the dict sits ("actions[1].max_bid")."""

from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from automation.models import Trigger

REQUIRED = object()

DESTRUCTIVE = ("restart", "stop", "delete", "migrate", "failover")
ACTION_TYPES = ("restart", "stop", "delete", "migrate", "failover", "rebid", "notify", "webhook")
# Actions that act on a deployment (the rest tell people).
DEPLOYMENT_ACTIONS = DESTRUCTIVE + ("rebid",)
MAX_ACTIONS = 10
MAX_ESCALATION = 5


@dataclass(frozen=True)
class Param:
    check: Callable[[object], str | None]
    default: object = REQUIRED


def number(low: float | None = None, high: float | None = None, *, above: float | None = None,
           integer: bool = False) -> Callable[[object], str | None]:
    """A check for a JSON number within bounds (`above` is exclusive, low/high inclusive)."""
    def check(value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return "Expected a whole number." if integer else "Expected a number."
        if integer and float(value) != int(value):
            return "Expected a whole number."
        if above is not None and value <= above:
            return f"Must be above {above:g}."
        if (low is not None and value < low) or (high is not None and value > high):
            return f"Must be between {low:g} and {high:g}."
        return None
    return check


def choice(*options: str) -> Callable[[object], str | None]:
    def check(value) -> str | None:
        return None if value in options else f"Expected one of {', '.join(options)}."
    return check


def boolean(value) -> str | None:
    return None if isinstance(value, bool) else "Expected true or false."


def cron_expression(value) -> str | None:
    if not isinstance(value, str) or len(value.split()) != 5:
        return "Expected a cron expression of 5 fields, e.g. \"0 20 * * 1-5\"."
    return None if croniter.is_valid(value) else f"{value!r} is not a valid cron expression."


def time_zone(value) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 64:
        return "Expected a time zone name such as Europe/Berlin."
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"Unknown time zone {value!r}."
    return None


def gpu_model(value) -> str | None:
    from pricing.gpu_specs import GPU_SPECS

    return None if isinstance(value, str) and value in GPU_SPECS else "Choose a known GPU model (e.g. h100-sxm)."


def provider(value) -> str | None:
    from automation.conditions import FIELDS

    known = FIELDS["deployment.provider"].choices
    return None if value == "" or value in known else f"Expected one of {', '.join(known)} (or empty: any)."


def optional_id(value) -> str | None:
    return None if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0) \
        else "Expected an id."


TRIGGER_PARAMS: dict[str, dict[str, Param]] = {
    Trigger.DOWN: {}, Trigger.RECOVERED: {}, Trigger.PREEMPTED: {}, Trigger.FAILED_TO_START: {},
    Trigger.IDLE: {"threshold_percent": Param(number(0, 100), 5), "minutes": Param(number(1, 1440, integer=True), 30)},
    Trigger.COST_THRESHOLD: {"usd": Param(number(above=0)), "period": Param(choice("total", "day", "month"), "total")},
    Trigger.PRICE_CHANGE: {"min_saving_percent": Param(number(1, 90), 20),
                           "minutes": Param(number(0, 1440, integer=True), 30)},
    Trigger.PRICE_BELOW: {"gpu_model": Param(gpu_model), "price": Param(number(above=0)),
                          "min_gpus": Param(number(1, 16, integer=True), 1), "include_spot": Param(boolean, False),
                          "provider": Param(provider, "")},
    Trigger.SCHEDULE: {"cron": Param(cron_expression), "timezone": Param(time_zone, "UTC")},
    Trigger.BUDGET_REACHED: {"budget_id": Param(optional_id, None)},
}

ACTION_PARAMS: dict[str, dict[str, Param]] = {
    "restart": {}, "stop": {}, "delete": {},
    "failover": {"max_attempts": Param(number(1, 10, integer=True), 3), "allow_spot": Param(boolean, False)},
    "migrate": {"min_saving_percent": Param(number(1, 90), 20)},
    "rebid": {"max_bid": Param(lambda v: None if v is None else number(above=0)(v), None),
              "fallback_on_demand": Param(boolean, True),
              "max_failures": Param(number(1, 10, integer=True), 3)},
    "notify": {"channels": Param(lambda v: None if isinstance(v, list) and len(v) <= 20
                                 else "Expected a list of channel ids.", []),
               "message": Param(lambda v: None if isinstance(v, str) and len(v) <= 300
                                else "Expected text of at most 300 characters.", "")},
    "webhook": {"channel": Param(lambda v: None if isinstance(v, str) and v else "Choose a webhook channel.")},
}


@dataclass
class Cleaned:
    value: dict = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def clean_params(spec: dict[str, Param], params, *, skip: tuple[str, ...] = ()) -> Cleaned:
    """Check `params` against `spec`: unknown keys, missing required ones, each value's check."""
    out = Cleaned()
    if not isinstance(params, dict):
        out.problems.append(("", "Expected an object."))
        return out
    for key in sorted(set(params) - set(spec) - set(skip)):
        out.problems.append((str(key), "Unknown parameter."))
    for key, param in spec.items():
        _clean_one(out, key, param, params)
    return out


def _clean_one(out: Cleaned, key: str, param: Param, params: dict) -> None:
    if key not in params:
        if param.default is REQUIRED:
            out.problems.append((key, "Required."))
        else:
            out.value[key] = param.default
        return
    message = param.check(params[key])
    if message:
        out.problems.append((key, message))
    else:
        out.value[key] = params[key]


def clean_trigger_params(trigger: str, params) -> Cleaned:
    return clean_params(TRIGGER_PARAMS[trigger], {} if params is None else params)


def clean_action(action) -> Cleaned:
    """One action: its type and its parameters (ownership of channels is checked by the caller)."""
    if not isinstance(action, dict):
        return Cleaned(problems=[("", "Expected an object with a type.")])
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        return Cleaned(problems=[("type", f"Expected one of {', '.join(ACTION_TYPES)}.")])
    cleaned = clean_params(ACTION_PARAMS[kind], action, skip=("type",))
    cleaned.value = {"type": kind, **cleaned.value}
    return cleaned
