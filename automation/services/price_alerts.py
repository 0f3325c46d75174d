"""Price alerts: "tell me when H100 SXM is at or below $2.00 per GPU-hour on any provider".
Every field is checked before anything is written; a refusal names the field. Changing what an
alert asks resets its state, so the new question is answered afresh at the next check."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction

from automation.models import PriceAlert
from computehub.errors import ApplicationError
from pricing.gpu_specs import GPU_SPECS
from providers.models import ProviderKind

MAX_PRICE_PER_HOUR = Decimal("1000")  # per GPU-hour: no GPU rents for more; a bigger figure is a typo
MAX_GPUS = 16
MAX_ALERTS_PER_WORKSPACE = 100
FIELDS = ("gpu_model", "max_price_per_hour", "min_gpus", "include_spot", "provider", "enabled")
# Changing one of these changes the question, so the alert's "below" state starts over.
QUESTION_FIELDS = {"gpu_model", "max_price_per_hour", "min_gpus", "include_spot", "provider"}
ALERT_PROVIDERS = [kind for kind in ProviderKind.values if kind != ProviderKind.LOCAL]


def price_alert_create(*, workspace, user, data: dict) -> PriceAlert:
    values = _clean({"min_gpus": 1, "include_spot": False, "provider": "", "enabled": True, **data}, partial=False)
    with transaction.atomic():
        if PriceAlert.objects.filter(workspace=workspace).count() >= MAX_ALERTS_PER_WORKSPACE:
            raise ApplicationError(
                f"A workspace has at most {MAX_ALERTS_PER_WORKSPACE} price alerts; delete one first.",
                code="limit_reached", status=409)
        return PriceAlert.objects.create(workspace=workspace, created_by=user, **values)


def price_alert_update(*, alert: PriceAlert, data: dict) -> PriceAlert:
    values = _clean(data, partial=True)
    if not values:
        return alert
    changed = {name for name, value in values.items() if getattr(alert, name) != value}
    if changed & QUESTION_FIELDS:
        values.update(is_below=False, last_price=None)
    for name, value in values.items():
        setattr(alert, name, value)
    alert.save(update_fields=list(values))
    return alert


def price_alert_delete(*, alert: PriceAlert) -> None:
    alert.delete()


# --- validation ---------------------------------------------------------------------------------


def _clean(data: dict, *, partial: bool) -> dict:
    unknown = sorted(set(data) - set(FIELDS))
    errors = {name: ["Unknown field."] for name in unknown}
    values = {}
    for name, check in _CHECKS.items():
        if name not in data:
            if not partial:
                errors[name] = ["This field is required."]
            continue
        try:
            values[name] = check(data[name])
        except ValueError as problem:
            errors[name] = [str(problem)]
    if errors:
        raise ApplicationError("Some fields are invalid.", code="validation_error", fields=errors)
    return values


def _gpu_model(value) -> str:
    """A canonical id ("h100-sxm") or its table name ("H100 SXM"), stored as the id."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in GPU_SPECS:
        return text
    by_name = {spec.name.lower(): spec.id for spec in GPU_SPECS.values()}
    if text in by_name:
        return by_name[text]
    raise ValueError("Unknown GPU model; choose one from the GPU table (for example h100-sxm).")


def _price(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("Enter a price in dollars per GPU-hour, for example 2.00.")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("Enter a price in dollars per GPU-hour, for example 2.00.") from None
    if not price.is_finite() or price <= 0:
        raise ValueError("The price must be more than $0.")
    if price > MAX_PRICE_PER_HOUR:
        raise ValueError(f"The price must be at most ${MAX_PRICE_PER_HOUR:,} per GPU-hour.")
    if price.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) != price:
        raise ValueError("Use at most 3 decimal places.")
    return price


def _min_gpus(value) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GPUS:
        raise ValueError(f"Enter a whole number of GPUs from 1 to {MAX_GPUS}.")
    return value


def _boolean(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError("Must be true or false.")
    return value


def _provider(value) -> str:
    if value is None or value == "":
        return ""
    if value not in ALERT_PROVIDERS:
        raise ValueError(f"Choose one of {', '.join(ALERT_PROVIDERS)}, or leave empty for any provider.")
    return value


_CHECKS = {"gpu_model": _gpu_model, "max_price_per_hour": _price, "min_gpus": _min_gpus,
           "include_spot": _boolean, "enabled": _boolean, "provider": _provider}
