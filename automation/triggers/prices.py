"""Price triggers, judged against the offers the pricing refresh keeps current (every 5 min):

- `price_change` rules: a migratable running deployment's configuration is at least X% cheaper
  elsewhere, continuously for Y minutes. When it first looked cheaper is kept per deployment in
  `Rule.state["cheaper_since"]` (written conditionally); it resets the moment it is not. A streak
  is announced once, and again only while the engine held it back for safety.
- `price_below` rules and PriceAlert rows: the cheapest offer of a GPU model crossed to at or
  below a price. Edge-triggered: after firing, nothing more until the price went above again.
  The crossing is claimed with a conditional update, so one worker fires it."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from automation.models import AutomationEvent, EventType, HealthCheck, PriceAlert, Rule, RuleRun, RunOutcome, Trigger
from automation.selectors.offers import equivalent_offers, saving_percent
from automation.selectors.price_alerts import cheapest_offer, cheapest_offer_for_alert, gpu_display_name
from automation.triggers.common import (emit_once, number_param, rotating_batch, rules_batch, running_in_scope,
                                        safely, save_rule_state)
from pricing.models import Offer
from providers.models import provider_display_name

DEFAULT_SAVING_PERCENT = 20.0
DEFAULT_MINUTES = 30.0
ALERTS_PER_CALL = 500
REARM_FIRST_S, REARM_MAX_S = 60, 900  # a streak held back for safety is announced again


# --- price_change -------------------------------------------------------------------------------


def evaluate_price_change_rules(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return sum(safely(_price_change_step, rule, now) for rule in rules_batch(Trigger.PRICE_CHANGE))


def _price_change_step(rule: Rule, now: datetime) -> int:
    saving = number_param(rule, "min_saving_percent", "percent", default=DEFAULT_SAVING_PERCENT)
    minutes = number_param(rule, "minutes", default=DEFAULT_MINUTES)
    if saving <= 0 or minutes < 0:
        return 0
    return _price_change(rule, saving, timedelta(minutes=minutes), now)


def _price_change(rule: Rule, min_saving: float, hold: timedelta, now: datetime) -> int:
    previous = dict((rule.state or {}).get("cheaper_since") or {})
    since_by, due = {}, []
    for deployment in _migratable(rule):
        offer = equivalent_offers(deployment=deployment, spot=deployment.spot).first()
        saving = saving_percent(deployment.price_per_hour, offer.price_per_hour) if offer else 0.0
        if saving < min_saving:
            continue  # not cheaper enough now: its streak (if any) ends
        since = previous.get(str(deployment.pk)) or now.isoformat()
        since_by[str(deployment.pk)] = since
        if now - parse_datetime(since) >= hold:
            due.append((deployment, offer, saving, since))
    if not save_rule_state(rule, {**(rule.state or {}), "cheaper_since": since_by}):
        return 0  # another worker moved the state first; it judges this tick
    return sum(_emit_price_change(rule, *args, now) for args in due)


def _announcement_key(rule: Rule, deployment, since: str, now: datetime) -> str | None:
    """The key of the streak's next announcement, or None when there is none to make. A streak is
    announced once, unless the engine held back every announcement for safety (its provider was
    not answering): then again after 1, 2, 4 … (at most 15) minutes, so the move happens once
    the provider answers instead of waiting for a new streak that may never start."""
    key = f"price_change:{rule.pk}:{deployment.pk}:{since}"
    earlier = dict(AutomationEvent.objects.filter(deployment=deployment, type=EventType.PRICE_CHANGE)
                   .filter(Q(dedup_key=key) | Q(dedup_key__startswith=f"{key}:")).values_list("pk", "processed_at"))
    if not earlier:
        return key
    if None in earlier.values():
        return None  # the engine has not judged the last one yet
    wait = timedelta(seconds=min(REARM_FIRST_S * 2 ** (len(earlier) - 1), REARM_MAX_S))
    outcomes = set(RuleRun.objects.filter(rule=rule, event_id__in=earlier).values_list("outcome", flat=True))
    if outcomes != {RunOutcome.SKIPPED} or now - max(earlier.values()) < wait:
        return None
    return f"{key}:{len(earlier) + 1}"


def _migratable(rule: Rule) -> list:
    running = running_in_scope(rule)
    consenting = set(HealthCheck.objects.filter(deployment__in=[d.pk for d in running], migratable=True)
                     .values_list("deployment_id", flat=True))
    return [deployment for deployment in running if deployment.pk in consenting]


def _emit_price_change(rule: Rule, deployment, offer: Offer, saving: float, since: str, now: datetime) -> bool:
    dedup_key = _announcement_key(rule, deployment, since, now)
    if dedup_key is None:
        return False
    where = provider_display_name(offer.provider)
    return emit_once(
        workspace=rule.workspace, deployment=deployment, type=EventType.PRICE_CHANGE, dedup_key=dedup_key,
        summary=(f"{deployment.name}: the same GPUs are {saving:g}% cheaper on {where} "
                 f"(${offer.price_per_hour:.2f}/h instead of ${deployment.price_per_hour:.2f}/h)"),
        data={"rule_id": rule.pk, "offer": offer.pk, "offer_id": offer.offer_id, "provider": offer.provider,
              "price": offer.price_per_hour, "current_price": deployment.price_per_hour,
              "saving_percent": saving, "since": since, "spot": offer.spot})


# --- price_below rules --------------------------------------------------------------------------


def evaluate_price_below_rules(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return sum(safely(_price_below_step, rule, now) for rule in rules_batch(Trigger.PRICE_BELOW))


def _price_below_step(rule: Rule, now: datetime) -> bool:
    params = rule.trigger_params or {}
    limit = number_param(rule, "price", "max_price_per_hour")
    if not params.get("gpu_model") or limit is None or limit <= 0:
        return False
    offer = cheapest_offer(workspace=rule.workspace, gpu_model=params["gpu_model"],
                           min_gpus=int(number_param(rule, "min_gpus", default=1)),
                           include_spot=params.get("include_spot") is True, provider=params.get("provider") or "")
    return offer is not None and _price_below_rule(rule, offer, limit, now)


def _price_below_rule(rule: Rule, offer: Offer, limit: float, now: datetime) -> bool:
    """State: {"below": bool, "below_for": the params it was judged by, "crossings": n}."""
    state = dict(rule.state or {})
    judged_by = f"{rule.trigger_params.get('gpu_model')}|{limit:g}"
    was_below = state.get("below") is True and state.get("below_for") == judged_by
    below = offer.price_per_gpu_hour <= limit
    if below == was_below:
        return False
    crossings = int(state.get("crossings") or 0) + (1 if below else 0)
    state.update(below=below, below_for=judged_by, crossings=crossings, last_price=offer.price_per_gpu_hour)
    with transaction.atomic():
        if not save_rule_state(rule, state) or not below:
            return False
        return emit_once(
            workspace=rule.workspace, deployment=rule.deployment, type=EventType.PRICE_BELOW,
            dedup_key=f"price_below:rule:{rule.pk}:{crossings}", summary=_below_summary(offer, limit),
            data={"rule_id": rule.pk, **_below_data(offer, limit)})


# --- price alerts -------------------------------------------------------------------------------


def evaluate_price_alerts(now: datetime | None = None) -> int:
    now = now or timezone.now()
    alerts = PriceAlert.objects.filter(enabled=True).select_related("workspace")
    batch = rotating_batch(alerts, "price_alerts", limit=ALERTS_PER_CALL)
    return sum(safely(_alert_step, alert, now) for alert in batch)


def _alert_step(alert: PriceAlert, now: datetime) -> bool:
    offer = cheapest_offer_for_alert(alert)
    # No offer at all says nothing about the price (a refresh may have failed): keep the state.
    return offer is not None and price_alert_step(alert, offer, now)


def price_alert_step(alert: PriceAlert, offer: Offer, now: datetime) -> bool:
    """Move the alert's state to what `offer` shows; True when this call fired it."""
    price, limit = offer.price_per_gpu_hour, float(alert.max_price_per_hour)
    below = price <= limit
    same = PriceAlert.objects.filter(pk=alert.pk, is_below=alert.is_below, max_price_per_hour=alert.max_price_per_hour)
    if below == alert.is_below:
        same.exclude(last_price=price).update(last_price=price)
        return False
    with transaction.atomic():
        if not same.update(is_below=below, last_price=price, **({"last_triggered_at": now} if below else {})):
            return False  # another worker (or an edit) moved it first
        if not below:
            return False
        return emit_once(
            workspace=alert.workspace, type=EventType.PRICE_BELOW,
            dedup_key=f"price_alert:{alert.pk}:{now.isoformat()}", summary=_below_summary(offer, limit),
            data={"alert_id": alert.pk, **_below_data(offer, limit)})


# --- shared -------------------------------------------------------------------------------------


def _below_summary(offer: Offer, limit: float) -> str:
    return (f"{gpu_display_name(offer.gpu_model)} is at ${offer.price_per_gpu_hour:.2f}/GPU-hour on "
            f"{provider_display_name(offer.provider)} (at or below ${limit:.2f})")


def _below_data(offer: Offer, limit: float) -> dict:
    return {"gpu_model": offer.gpu_model, "gpu_name": gpu_display_name(offer.gpu_model),
            "price": offer.price_per_gpu_hour, "max_price_per_hour": limit, "provider": offer.provider,
            "offer": {"pk": offer.pk, "offer_id": offer.offer_id, "provider": offer.provider,
                      "region": offer.region, "gpu_count": offer.gpu_count, "spot": offer.spot,
                      "price_per_hour": offer.price_per_hour, "price_per_gpu_hour": offer.price_per_gpu_hour}}
