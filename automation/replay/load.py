"""Loads one workspace's recorded history over the window into plain rows (history.py), reading
only what the rule under test needs: metric samples for idle or metric conditions, price
points for price triggers, moves and price conditions."""

from datetime import datetime, timedelta

from automation.models import AutomationEvent, Flip, Rule, SpendDay
from automation.replay.history import (ActionRow, DeploymentInfo, EventRow, FlipRow, History, PriceRow, SampleRow,
                                       SpendRow, StatusRow)
from automation.replay.spec import RuleSpec
from automation.selectors.offers import equivalent_offers
from deployments.metric_rollups import ROLLUP
from deployments.metrics import RETENTION as METRIC_RAW_RETENTION
from deployments.models import Deployment, DeploymentEvent, EventKind, MetricRollup, MetricSample
from pricing.models import PricePoint

LOOKBACK = timedelta(hours=24)  # before the window: the state a deployment was in when it opened
EVENT_TYPES = ("down", "still_down", "recovered", "preempted", "failed", "failed_to_start", "budget_warning",
               "budget_reached", "price_change", "price_below", "idle", "cost_threshold")
PRICE_ACTIONS = ("migrate", "failover")


def load_history(*, workspace, spec: RuleSpec, start: datetime, end: datetime) -> History:
    deployments = _deployments(workspace, spec, start)
    ids = list(deployments)
    history = History(start=start, end=end, deployments=deployments)
    history.events = _events(workspace, start, end)
    history.flips = [FlipRow(pk, at, str(dep), old, new) for pk, at, dep, old, new in Flip.objects.filter(
        deployment_id__in=ids, created_at__gte=start - LOOKBACK, created_at__lte=end).values_list(
        "pk", "created_at", "deployment_id", "old_state", "new_state")]
    history.statuses, history.actions = _timeline(ids, start, end)
    history.spend = [SpendRow(day, str(dep), usd) for day, dep, usd in SpendDay.objects.filter(
        workspace=workspace, deployment_id__in=ids, day__lte=end.date()).values_list("day", "deployment_id", "usd")]
    if spec.trigger == "idle" or _mentions(spec.conditions, "metrics."):
        history.samples = _samples(ids, start, end)
    history.auto_restart_covers = {str(pk) if pk else "*" for pk in Rule.objects.filter(
        workspace=workspace, policy="auto_restart", enabled=True).values_list("deployment_id", flat=True)}
    if _needs_prices(spec):
        history.prices = _prices(workspace, spec, deployments, start, end)
        _cheapest_now(history, workspace, spec)
    return history.sort()


def _deployments(workspace, spec: RuleSpec, start: datetime) -> dict[str, DeploymentInfo]:
    rows = Deployment.objects.filter(workspace=workspace).exclude(terminated_at__lt=start)
    if spec.deployment_id:
        rows = rows.filter(pk=spec.deployment_id)
    return {str(d.pk): DeploymentInfo(
        id=str(d.pk), name=d.name, provider=d.provider, region=d.region, gpu_model=d.gpu_model,
        gpu_count=d.gpu_count, price_per_hour=d.price_per_hour, spot=d.spot, status=d.status,
        created_at=d.created_at) for d in rows}


def _events(workspace, start, end) -> list[EventRow]:
    rows = AutomationEvent.objects.filter(workspace=workspace, type__in=EVENT_TYPES, created_at__gte=start,
                                          created_at__lte=end)
    return [EventRow(e.created_at, e.type, str(e.deployment_id) if e.deployment_id else None, e.summary,
                     e.dedup_key, e.data) for e in rows]


def _timeline(ids, start, end) -> tuple[list[StatusRow], list[ActionRow]]:
    rows = DeploymentEvent.objects.filter(deployment_id__in=ids, kind__in=(EventKind.STATUS, EventKind.ACTION),
                                          created_at__gte=start - LOOKBACK, created_at__lte=end)
    statuses, actions = [], []
    for kind, at, dep, data in rows.values_list("kind", "created_at", "deployment_id", "data"):
        if kind == EventKind.STATUS and data.get("to"):
            statuses.append(StatusRow(at, str(dep), data.get("from", ""), data["to"]))
        elif kind == EventKind.ACTION and data.get("action") and not data.get("refused"):
            actions.append(ActionRow(at, str(dep), data["action"]))
    return statuses, actions


def _samples(ids, start, end) -> list[SampleRow]:
    """Raw readings where they are still kept, five-minute summaries before that."""
    raw_from = max(start, end - METRIC_RAW_RETENTION)
    rows = MetricSample.objects.filter(deployment_id__in=ids, at__gte=raw_from, at__lte=end)
    raw = [SampleRow(at, str(dep), values) for at, dep, values in rows.values_list("at", "deployment_id", "values")]
    return _summarised(ids, start, raw_from) + raw


def _summarised(ids, start, end) -> list[SampleRow]:
    """A summary reads as one sample at the end of its five minutes. GPU utilisation is its peak,
    so an idle stretch is only found where every reading was low; the rest are averages."""
    rollups = MetricRollup.objects.filter(deployment_id__in=ids, start__gte=start - ROLLUP, start__lt=end - ROLLUP)
    return [SampleRow(begin + ROLLUP, str(dep), means | _peak_util(peaks))
            for begin, dep, means, peaks in rollups.values_list("start", "deployment_id", "means", "peaks")]


def _peak_util(peaks: dict) -> dict:
    return {"gpu_util_percent": peaks["gpu_util_percent"]} if "gpu_util_percent" in peaks else {}


def _mentions(condition, prefix: str) -> bool:
    return prefix in str(condition or "")


def _needs_prices(spec: RuleSpec) -> bool:
    acts = {a.get("type") for a in spec.actions if isinstance(a, dict)}
    return spec.trigger.startswith("price_") or bool(acts & set(PRICE_ACTIONS)) or _mentions(spec.conditions, "price.")


def _prices(workspace, spec: RuleSpec, deployments, start, end) -> list[PriceRow]:
    models = {d.gpu_model for d in deployments.values() if d.gpu_model} | {spec.trigger_params.get("gpu_model")}
    rows = PricePoint.objects.filter(workspace=workspace, gpu_model__in=[m for m in models if m],
                                     recorded_at__gte=start - LOOKBACK, recorded_at__lte=end)
    return [PriceRow(*values) for values in rows.values_list(
        "recorded_at", "gpu_model", "provider", "spot", "price_per_gpu_hour")]


def _cheapest_now(history: History, workspace, spec: RuleSpec) -> None:
    """Today's offers, for moments no recorded price point covers (labelled an approximation)."""
    if not {a.get("type") for a in spec.actions if isinstance(a, dict)} & set(PRICE_ACTIONS):
        return
    for deployment in Deployment.objects.filter(workspace=workspace, pk__in=list(history.deployments)):
        same = equivalent_offers(deployment=deployment).first()
        other = equivalent_offers(deployment=deployment, other_provider=True).first()
        if same:
            history.cheapest_now[str(deployment.pk)] = same.price_per_hour
        if other:
            history.cheapest_other_provider_now[str(deployment.pk)] = other.price_per_hour
