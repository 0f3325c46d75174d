"""What a rule's conditions see: a flat dict of the whitelisted fields (automation.conditions.FIELDS),
read fresh when the engine decides. A fact the system does not know is left out (a comparison on
it is then false), never guessed."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from automation.models import AutomationEvent, HealthCheck, Rule, RuleRun, RunOutcome

ACTED = (RunOutcome.DONE, RunOutcome.PENDING, RunOutcome.FAILED)


def build_facts(*, event: AutomationEvent, deployment, now=None) -> dict:
    now = now or timezone.now()
    facts = {"event.type": event.type, "time.hour_utc": now.hour, "time.weekday": now.weekday()}
    facts |= _price_facts(event)
    facts |= _workspace_spend(event.workspace, now)
    if deployment is not None:
        facts |= _deployment_facts(deployment, now)
        facts |= _health_facts(deployment)
        facts |= _metric_facts(deployment)
        facts |= _automation_facts(event.workspace_id, deployment, now)
    return {name: value for name, value in facts.items() if value is not None}


def _deployment_facts(deployment, now) -> dict:
    since = deployment.running_since
    return {
        "deployment.name": deployment.name, "deployment.provider": deployment.provider,
        "deployment.region": deployment.region, "deployment.gpu_model": deployment.gpu_model,
        "deployment.gpu_count": deployment.gpu_count, "deployment.price_per_hour": deployment.price_per_hour,
        "deployment.spend_usd": deployment.spend_usd, "deployment.spot": deployment.spot,
        "deployment.status": deployment.status,
        "deployment.uptime_s": (now - since).total_seconds() if since else None,
        "spend.deployment_today_usd": _spend(deployment.workspace, deployment, now, "today"),
    }


def _health_facts(deployment) -> dict:
    check = HealthCheck.objects.filter(deployment=deployment).first()
    if check is None:
        return {}
    return {"health.state": check.state, "health.consecutive_failures": check.consecutive_failures,
            "health.uptime_24h_percent": _uptime(deployment)}


def _uptime(deployment) -> float | None:
    try:
        from automation.selectors.health import uptime_percent
    except ImportError:
        return None
    return uptime_percent(deployment=deployment, hours=24)


def _metric_facts(deployment) -> dict:
    from deployments.models import MetricSample

    sample = MetricSample.objects.filter(deployment=deployment).order_by("-seq").first()
    if sample is None:
        return {}
    names = ("gpu_util_percent", "gpu_mem_used_gb", "gpu_temp_c", "cpu_percent", "ram_used_gb")
    return {f"metrics.{name}": sample.values.get(name) for name in names}


def _price_facts(event: AutomationEvent) -> dict:
    data = event.data or {}
    current = data.get("current_price")
    return {"price.gpu_model": data.get("gpu_model"), "price.current": current,
            "price.cheapest": data.get("price"), "price.saving_percent": data.get("saving_percent")}


def _workspace_spend(workspace, now) -> dict:
    return {"spend.workspace_today_usd": _spend(workspace, None, now, "today"),
            "spend.workspace_month_usd": _spend(workspace, None, now, "month")}


def _spend(workspace, deployment, now, key: str) -> float | None:
    try:
        from automation.selectors.spend import spend_totals
    except ImportError:  # the budgets area's selector is not there yet
        return deployment.spend_usd if deployment is not None else None
    return spend_totals(workspace=workspace, deployment=deployment, now=now).get(key)


def _automation_facts(workspace_id, deployment, now) -> dict:
    return {"automation.restarts_last_hour": restarts_last_hour(deployment, now),
            "automation.auto_restart_enabled": Rule.objects.filter(
                Q(deployment__isnull=True) | Q(deployment=deployment), workspace_id=workspace_id,
                policy="auto_restart", enabled=True).exists()}


def restarts_last_hour(deployment, now) -> int:
    """Restarts automation requested for the deployment in the last hour (any rule)."""
    runs = RuleRun.objects.filter(deployment=deployment, started_at__gte=now - timedelta(hours=1),
                                  outcome__in=ACTED).values_list("actions", flat=True)
    return sum(1 for actions in runs for action in actions or []
               if action.get("type") == "restart" and action.get("status") == "done")
