"""The bench's data, made through the services people use: a workspace with Sandbox accounts on
Vast.ai and RunPod (the other clouds' accounts removed, so failover has exactly one other
provider), offers refreshed, deployments launched and driven to running by the real reconciler,
an HTTP health check each on the bench's endpoint, and the policies switched on per deployment.

Setup is not measured, so only here (this process) the adapters' client-side rate limits are
lifted; the autopilot and worker processes keep the shipped ones."""

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.db import connections
from django.utils import timezone

from bench.reaction_support.world import CONTAINER_PORT, HEALTH_PATH

PROVIDERS = ("vast", "runpod")
PARAMS = {"image": "python:3.12-slim", "command": ["python", "-m", "http.server", str(CONTAINER_PORT)],
          "ports": [CONTAINER_PORT], "disk_gb": 20}
# Failover sources: one restart allowed an hour and no cooldown, so "down → restart → still down"
# escalates to failover at the first still_down event (shipped defaults: 3 an hour, 60 s apart).
FAILOVER_RESTART_PARAMS = {"max_per_hour": 1, "cooldown_s": 0}


@dataclass
class Planned:
    deployment_id: str
    role: str  # "restart" (a restart fixes it), "failover" (it does not), "bystander" (never broken)


def _lift_rate_limits() -> None:
    from providers.adapters import adapter_class

    for kind in PROVIDERS:
        cls = adapter_class(kind)
        cls.rate_limit = (1000.0, 1000)
        cls.scoped_rate_limits = {scope: (1000.0, 1000) for scope in cls.scoped_rate_limits}


def workspace_with_offers():
    from accounts.models import User
    from accounts.services import workspace_create
    from pricing.services import refresh_offers
    from providers.models import ProviderCredential

    _lift_rate_limits()
    user = User.objects.create_user(email="reaction-bench@example.com", password=None)
    workspace = workspace_create(name="Reaction bench", created_by=user)
    ProviderCredential.objects.filter(workspace=workspace).exclude(provider__in=PROVIDERS).delete()
    report = refresh_offers(workspace=workspace)
    if report.failed:
        raise RuntimeError(f"offer refresh failed: {report.summary()}")
    return workspace, user


def _on_demand(workspace, provider: str):
    from pricing.models import Offer

    return (Offer.objects.filter(workspace=workspace, provider=provider, spot=False, credential__isnull=False)
            .exclude(available=0).exclude(gpu_model="").select_related("credential").order_by("price_per_hour", "pk"))


def _has_runpod_twin(offer, runpod: list) -> bool:
    return any(o.gpu_model == offer.gpu_model and o.gpu_count == offer.gpu_count and o.vram_gb >= offer.vram_gb - 0.5
               for o in runpod)


def pick_offers(workspace, *, restarts: int, failovers: int, bystanders: int) -> list[tuple]:
    """(offer, role) per deployment: failover sources on Vast hosts whose GPU RunPod also has
    (the replacement goes there), the others alternating Vast and RunPod. A Vast host rents once."""
    vast, runpod = list(_on_demand(workspace, "vast")), list(_on_demand(workspace, "runpod"))
    twins = [o for o in vast if _has_runpod_twin(o, runpod)]
    if len(twins) < failovers:
        raise RuntimeError(f"only {len(twins)} Vast offers have a RunPod equivalent; asked for {failovers}")
    picked = [(offer, "failover") for offer in twins[:failovers]]
    spare_vast = [o for o in vast if o not in twins[:failovers]]
    roles = ["restart"] * restarts + ["bystander"] * bystanders
    for n, role in enumerate(roles):
        offer = spare_vast.pop(0) if n % 2 == 0 and spare_vast else runpod[n % len(runpod)]
        picked.append((offer, role))
    return picked


def launch_all(workspace, user, picked: list[tuple]) -> list[Planned]:
    from deployments.services import deployment_create

    planned = []
    for n, (offer, role) in enumerate(picked):
        deployment = deployment_create(workspace=workspace, user=user, credential=offer.credential,
                                       offer_id=offer.offer_id, name=f"{role}-{n:02d}", **PARAMS)
        planned.append(Planned(str(deployment.pk), role))
    return planned


def _drive(deployment_ids: list[str], deadline: float) -> None:
    from deployments.models import Deployment, Status
    from deployments.reconciler import reconcile_deployment

    try:
        waiting = list(deployment_ids)
        while waiting and time.monotonic() < deadline:
            for deployment_id in waiting:
                reconcile_deployment(deployment_id)
            rows = Deployment.objects.filter(pk__in=waiting).values_list("pk", "status", "port_map")
            running = {str(pk) for pk, status, port_map in rows if status == Status.RUNNING and port_map}
            waiting = [d for d in waiting if d not in running]
            time.sleep(0.3)
        if waiting:
            raise RuntimeError(f"{len(waiting)} deployments never came up during setup")
    finally:
        connections.close_all()


def drive_to_running(planned: list[Planned], timeout_s: float = 90) -> None:
    """The reconciler, one thread per provider account (as the sweep does it), until every
    deployment runs and reports its address."""
    from deployments.models import Deployment

    groups: dict = {}
    for deployment_id, credential_id in Deployment.objects.filter(
            pk__in=[p.deployment_id for p in planned]).values_list("pk", "credential_id"):
        groups.setdefault(credential_id, []).append(str(deployment_id))
    deadline = time.monotonic() + timeout_s
    with ThreadPoolExecutor(len(groups)) as pool:
        list(pool.map(lambda ids: _drive(ids, deadline), groups.values()))


def health_checks(planned: list[Planned], interval_s: int, timeout_s: float) -> None:
    """An HTTP check of the bench's endpoint each, on `interval_s` (shipped default 30 s), first
    probes spread over one interval as health_check_for does."""
    from automation.models import HealthCheck, ProbeKind
    from deployments.models import Deployment

    now = timezone.now()
    for deployment in Deployment.objects.filter(pk__in=[p.deployment_id for p in planned]):
        HealthCheck.objects.update_or_create(deployment=deployment, defaults={
            "workspace_id": deployment.workspace_id, "kind": ProbeKind.HTTP, "path": HEALTH_PATH,
            "port": CONTAINER_PORT, "interval_s": interval_s, "timeout_s": timeout_s,
            "next_check_at": now + timedelta(seconds=random.uniform(0, interval_s))})


def policies(workspace, user, planned: list[Planned]) -> None:
    from automation.policies import policy_enable
    from deployments.models import Deployment

    for plan in planned:
        deployment = Deployment.objects.get(pk=plan.deployment_id)
        if plan.role == "failover":
            policy_enable(workspace=workspace, user=user, slug="failover", deployment=deployment)
            policy_enable(workspace=workspace, user=user, slug="auto_restart", deployment=deployment,
                          params=FAILOVER_RESTART_PARAMS)
        else:
            policy_enable(workspace=workspace, user=user, slug="auto_restart", deployment=deployment)


def forget_queued_tasks() -> None:
    """Setup queued reconciles and an offer refresh for the worker; setup already did them."""
    from django_q.models import OrmQ

    OrmQ.objects.all().delete()
