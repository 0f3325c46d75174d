"""Reads (and the one idempotent create) of health checks: the check of a deployment with its
default probe, uptime from flips, and the probe described in words."""

import random
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from automation.models import Flip, HealthCheck, HealthState, ProbeKind
from deployments.models import Deployment


def default_probe(deployment: Deployment) -> dict:
    """From the template: a health path and a port → HTTP on that path and the first port; ports
    but no path → TCP on the first port; no ports → the provider's status."""
    template = deployment.template
    ports = list(deployment.ports or (template.ports if template else []) or [])
    path = template.health_path if template else ""
    if ports and path:
        return {"kind": ProbeKind.HTTP, "path": path, "port": ports[0]}
    if ports:
        return {"kind": ProbeKind.TCP, "path": "", "port": ports[0]}
    return {"kind": ProbeKind.PROVIDER, "path": "", "port": None}


def _first_check_at(interval_s: int, now: datetime) -> datetime:
    """New checks are spread over up to 10 s so a thousand launched together are not probed in the
    same instant forever after, yet a new deployment is looked at soon after it starts running."""
    return now + timedelta(seconds=random.uniform(0, min(interval_s, 10)))


def health_check_for(*, deployment: Deployment) -> HealthCheck:
    """The deployment's check, created with the default probe when it has none yet (two callers
    racing both get the one row)."""
    existing = HealthCheck.objects.filter(deployment=deployment).first()
    if existing is not None:
        return existing
    fields = default_probe(deployment)
    try:
        with transaction.atomic():
            return HealthCheck.objects.create(
                deployment=deployment, workspace_id=deployment.workspace_id,
                next_check_at=_first_check_at(HealthCheck._meta.get_field("interval_s").default, timezone.now()),
                **fields)
    except IntegrityError:
        return HealthCheck.objects.get(deployment=deployment)


def _down_seconds(flips: list[Flip], state: str, start: datetime, end: datetime) -> float:
    down, since = 0.0, start
    for flip in flips:
        if state == HealthState.DOWN:
            down += (flip.created_at - since).total_seconds()
        state, since = flip.new_state, flip.created_at
    if state == HealthState.DOWN:
        down += (end - since).total_seconds()
    return down


def uptime_percent(*, deployment: Deployment, hours: float, now: datetime | None = None) -> float | None:
    """Share of the window (clipped to when monitoring began) not spent down; None if never checked."""
    check = HealthCheck.objects.filter(deployment=deployment).first()
    if check is None or check.last_checked_at is None:
        return None
    end = now or timezone.now()
    first_flip = Flip.objects.filter(deployment=deployment).order_by("created_at", "id").first()
    began = min(check.created_at, first_flip.created_at) if first_flip else check.created_at
    start = max(end - timedelta(hours=hours), began)
    if start >= end:
        return 100.0
    before = Flip.objects.filter(deployment=deployment, created_at__lt=start).order_by("-created_at", "-id").first()
    flips = list(Flip.objects.filter(deployment=deployment, created_at__gte=start, created_at__lte=end))
    down = _down_seconds(flips, before.new_state if before else HealthState.NEW, start, end)
    return round(100.0 * (1 - down / (end - start).total_seconds()), 3)


def describe_probe(check: HealthCheck) -> str:
    """The probe in words, for the page and the API."""
    every = f"every {check.interval_s} s"
    if check.kind == ProbeKind.HTTP:
        scheme = "HTTPS" if check.use_https else "HTTP"
        return (f"{scheme} GET {check.path or '/'} on port {check.port} {every}; 2xx or 3xx within "
                f"{min(check.timeout_s, 10):g} s counts as up")
    if check.kind == ProbeKind.TCP:
        return f"TCP connect to port {check.port} {every}, within {min(check.timeout_s, 10):g} s"
    return f"The provider's reported status, {every}"


def health_summary(*, deployment: Deployment) -> dict:
    """What the page and the API show: the check and its uptime over 24 h and 7 days."""
    check = health_check_for(deployment=deployment)
    return {"check": check, "probe": describe_probe(check),
            "uptime_24h": uptime_percent(deployment=deployment, hours=24),
            "uptime_7d": uptime_percent(deployment=deployment, hours=24 * 7)}


def provider_unsure(deployment: Deployment) -> bool:
    """Its health is unknown, or the reconciler's latest calls to its provider failed and are being
    retried: automation then takes no destructive step on it (it could hit a healthy machine, or
    a provider that cannot carry it out)."""
    check = HealthCheck.objects.filter(deployment_id=deployment.pk).values("state", "unknown_since").first() or {}
    if check.get("state") == HealthState.UNKNOWN or check.get("unknown_since") is not None:
        return True
    return _account_failing(deployment)


def _account_failing(deployment: Deployment) -> bool:
    """The reconciler is retrying provider errors on this deployment or on another one of the same
    account (a preempted or stopped one is looked at rarely; its neighbours notice an outage first)."""
    # Only instances that exist there: a launch retrying "no capacity" says nothing about an outage.
    retrying = Deployment.objects.filter(credential_id=deployment.credential_id, attempts__gt=0).exclude(
        last_error="").exclude(instance_id="").exclude(status__in=["failed", "terminated"])
    return retrying.exists()
