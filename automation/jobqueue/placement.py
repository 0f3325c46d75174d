"""Where a job runs next: the cheapest offer across the workspace's connected providers that fits
its GPU requirements, price ceiling and spot choice, offers it has not tried first (a retry goes
to the next best offer, and back to a tried one only when nothing else fits). "This machine"
counts when the job needs no particular GPU, so a bare server runs jobs too. The workspace's
monthly budget must have room for the attempt's worst case."""

from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from automation.models import Job, JobAttempt, JobStatus
from automation.selectors.jobs import month_spend, workspace_month_budget
from deployments.services.validation import local_provider_on
from pricing.models import Offer
from providers.models import ProviderCredential, ProviderKind

SECONDS_PER_HOUR = 3600.0
CANDIDATES = 50


@dataclass(frozen=True)
class Placement:
    credential: ProviderCredential
    offer_id: str
    price_per_hour: float
    spot: bool = False
    bid_per_hour: float | None = None
    gpu_label: str = ""

    @property
    def key(self) -> tuple:
        return (self.credential.provider, self.offer_id, self.spot)

    @property
    def label(self) -> str:
        return f"{self.credential.get_provider_display()} ({self.gpu_label or self.offer_id})"


def min_vram_gb(job: Job) -> float:
    template_vram = job.template.min_vram_gb if job.template_id else 0
    return max(job.min_vram_gb or 0, template_vram or 0)


def needs_gpu(job: Job) -> bool:
    """A model, VRAM or more than one GPU asked for: This machine is not matched against those."""
    return bool(job.gpu_model) or min_vram_gb(job) > 0 or job.min_gpus > 1


def _fitting_offers(job: Job):
    rows = (Offer.objects.filter(workspace_id=job.workspace_id, credential__isnull=False, gpu_count__gte=job.min_gpus,
                                 price_per_hour__lte=job.max_price_per_hour)
            .exclude(available=0).exclude(provider=ProviderKind.LOCAL))
    if job.gpu_model:
        rows = rows.filter(gpu_model=job.gpu_model)
    if min_vram_gb(job):
        rows = rows.filter(vram_gb__gte=min_vram_gb(job))
    if not job.allow_spot:
        rows = rows.filter(spot=False)
    if job.providers:
        rows = rows.filter(provider__in=job.providers)
    return rows.select_related("credential").order_by("price_per_hour", "pk")[:CANDIDATES]


def _from_offer(offer: Offer) -> Placement:
    bid = max(offer.price_per_hour, offer.min_bid_per_hour or 0) if offer.spot else None
    label = f"{offer.gpu_count}× {offer.gpu_name}" if offer.gpu_count else offer.gpu_name
    return Placement(offer.credential, offer.offer_id, offer.price_per_hour, offer.spot, bid, label)


def _local_placements(job: Job) -> list[Placement]:
    """This machine is free; it fits a job with no GPU requirement (its GPUs, if any, are not
    matched against a model here)."""
    if needs_gpu(job) or not local_provider_on() or (job.providers and ProviderKind.LOCAL not in job.providers):
        return []
    credentials = ProviderCredential.objects.filter(workspace_id=job.workspace_id, provider=ProviderKind.LOCAL)
    return [Placement(credential, "local", 0.0, gpu_label="This machine") for credential in credentials.order_by("pk")]


def tried_keys(job: Job) -> set[tuple]:
    return {tuple(row) for row in JobAttempt.objects.filter(job=job).values_list("provider", "offer_id", "spot")}


def candidates(job: Job) -> list[Placement]:
    """Every fitting placement, untried ones first, cheapest first within each group."""
    found = _local_placements(job) + [_from_offer(offer) for offer in _fitting_offers(job)]
    tried = tried_keys(job)
    return sorted(found, key=lambda p: (p.key in tried, p.price_per_hour))


def best_placement(job: Job) -> Placement | None:
    found = candidates(job)
    return found[0] if found else None


def no_offer_reason(job: Job) -> str:
    gpu = f"{job.min_gpus}× {job.gpu_model}" if job.gpu_model else f"{job.min_gpus}+ GPU(s)"
    where = f" on {', '.join(job.providers)}" if job.providers else ""
    return f"Waiting for an offer: no {gpu} at or below ${job.max_price_per_hour:.2f}/h{where} right now."


def _reserved(job: Job, now) -> float:
    """What the workspace's other placed jobs may still cost before their runtime limit."""
    total = 0.0
    others = (Job.objects.filter(workspace_id=job.workspace_id, status__in=(JobStatus.PLACING, JobStatus.RUNNING))
              .exclude(pk=job.pk).filter(~Q(deployment__isnull=True)).select_related("deployment"))
    for other in others:
        started = other.started_at or other.created_at
        left_s = max(other.max_runtime_s - (now - started).total_seconds(), 0)
        total += other.deployment.price_per_hour * left_s / SECONDS_PER_HOUR
    return total


def budget_refusal(job: Job, placement: Placement, now=None) -> str | None:
    """Why the workspace's monthly budget cannot take this attempt, or None. The worst case is
    the whole runtime limit at the ceiling the attempt can be billed at."""
    budget = workspace_month_budget(workspace=job.workspace)
    if budget is None:
        return None
    now = now or timezone.now()
    hourly = min(job.max_price_per_hour, max(placement.price_per_hour, placement.bid_per_hour or 0))
    worst = hourly * job.max_runtime_s / SECONDS_PER_HOUR
    spent, reserved, limit = month_spend(workspace=job.workspace, now=now), _reserved(job, now), float(budget.limit_usd)
    if spent + reserved + worst <= limit:
        return None
    return (f"Waiting for budget: this job could cost up to ${worst:.2f} (${hourly:.2f}/h for "
            f"{job.max_runtime_s / SECONDS_PER_HOUR:g} h); the workspace has spent ${spent:.2f} and running jobs "
            f"may add ${reserved:.2f}, against a ${limit:.2f} monthly budget.")
