"""Writes for the batch queue: submit a job (everything validated first, field errors, nothing
stored half-valid) and cancel one. Placement, watching and retries are the scheduler's
(automation.jobqueue), which the autopilot runs every 3 s."""

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from automation.jobqueue.notes import note
from automation.models import Job, JobStatus
from automation.selectors.jobs import connected_kinds
from computehub.errors import ApplicationError
from deployments.services import validation as v
from deployments.templates_service import template_get
from pricing.gpu_specs import GPU_SPECS

MIN_RUNTIME_S = 60
MAX_RUNTIME_S = 7 * 24 * 3600
MAX_GPUS = 16
MAX_RETRIES = 10
MAX_PRICE = 10_000
DEFAULTS = {"min_gpus": 1, "min_vram_gb": 0, "max_runtime_s": 3600, "max_retries": 2, "allow_spot": True}
FIELDS = ("name", "template", "image", "command", "env", "gpu_model", "min_gpus", "min_vram_gb",
          "max_price_per_hour", "max_runtime_s", "max_retries", "allow_spot", "providers")
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def _number(value, field: str, errors: v.Errors, *, whole: bool, low, high, message: str):
    """`value` if it is a number (a whole one when `whole`) within [low, high], else a field error."""
    kinds = int if whole else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        errors.add(field, message)
        return None
    return value


def _template(workspace, template_id, errors: v.Errors):
    if template_id in (None, ""):
        return None
    try:
        return template_get(workspace=workspace, template_id=int(template_id))
    except (Http404, TypeError, ValueError):
        errors.add("template", "No such template.")
        return None


def _what_runs(workspace, data: dict, errors: v.Errors) -> dict:
    """Template or image + command: a template fills what the job leaves empty."""
    template = _template(workspace, data.get("template"), errors)
    image, command = data.get("image") or "", data.get("command") or []
    if template is not None and not image:
        image = template.image
    if template is None and not command and "command" not in errors.fields:
        errors.add("command", "Give the command the job runs (or choose a template).")
    return {"template": template, "image": v.clean_image(image, errors), "command": v.clean_command(command, errors),
            "env": v.clean_env(data.get("env"), "env", errors)}


def _gpu(data: dict, errors: v.Errors) -> dict:
    gpu_model = data.get("gpu_model") or ""
    if gpu_model and gpu_model not in GPU_SPECS:
        errors.add("gpu_model", f"Unknown GPU model {gpu_model!r} (see /api/v1/gpus/).")
    return {"gpu_model": gpu_model,
            "min_gpus": _number(data["min_gpus"], "min_gpus", errors, whole=True, low=1, high=MAX_GPUS,
                                message=f"A whole number of GPUs from 1 to {MAX_GPUS}."),
            "min_vram_gb": _number(data["min_vram_gb"], "min_vram_gb", errors, whole=False, low=0, high=2048,
                                   message="VRAM per GPU in GB, 0 or more.")}


def _limits(data: dict, errors: v.Errors) -> dict:
    price = data.get("max_price_per_hour")
    if _number(price, "max_price_per_hour", errors, whole=False, low=0, high=MAX_PRICE,
               message="The most the job may cost per hour, in USD, above $0.") is not None and price <= 0:
        errors.add("max_price_per_hour", "The most the job may cost per hour, in USD, above $0.")
    return {"max_price_per_hour": price,
            "max_runtime_s": _number(data["max_runtime_s"], "max_runtime_s", errors, whole=True, low=MIN_RUNTIME_S,
                                     high=MAX_RUNTIME_S, message="From 60 seconds to 7 days (604800 s)."),
            "max_retries": _number(data["max_retries"], "max_retries", errors, whole=True, low=0, high=MAX_RETRIES,
                                   message=f"A whole number from 0 to {MAX_RETRIES}.")}


def _providers(workspace, data: dict, errors: v.Errors) -> list[str]:
    wanted = data.get("providers") or []
    if not isinstance(wanted, list | tuple) or not all(isinstance(kind, str) for kind in wanted):
        errors.add("providers", "A list of provider kinds.")
        return []
    unknown = sorted(set(wanted) - set(connected_kinds(workspace)))
    if unknown:
        errors.add("providers", f"Not connected to this workspace: {', '.join(unknown)}.")
    return list(dict.fromkeys(wanted))


def _allow_spot(data: dict, errors: v.Errors) -> bool:
    if not isinstance(data["allow_spot"], bool):
        errors.add("allow_spot", "true or false.")
    return bool(data["allow_spot"])


def clean_job(*, workspace, data: dict) -> dict:
    """Every field checked at once: the cleaned values, or ApplicationError with every problem."""
    errors = v.Errors()
    unknown = sorted(set(data) - set(FIELDS))
    for name in unknown:
        errors.add(name, "Unknown field.")
    data = DEFAULTS | {key: value for key, value in data.items() if value is not None}
    values = {"name": v.clean_name(data.get("name"), errors), **_what_runs(workspace, data, errors),
              **_gpu(data, errors), **_limits(data, errors), "allow_spot": _allow_spot(data, errors),
              "providers": _providers(workspace, data, errors)}
    errors.raise_if_any()
    return values


def job_submit(*, workspace, user, data: dict) -> Job:
    """Queue a job; the scheduler places it on the cheapest offer that fits within seconds."""
    values = clean_job(workspace=workspace, data=data)
    return Job.objects.create(workspace=workspace, created_by=user, status=JobStatus.QUEUED, **values)


def job_cancel(*, job: Job, user) -> Job:
    """A queued job ends at once; a placed one is marked, and the scheduler deletes its deployment
    (under the job's lease, so a placement under way cannot slip past the cancel)."""
    if job.status in FINISHED:
        raise ApplicationError(f"This job has already {job.status}.", code="conflict", status=409)
    now = timezone.now()
    with transaction.atomic():
        ended = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED, lease_owner="").update(
            status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, last_error="Cancelled before it was placed.")
        if not ended:
            Job.objects.filter(pk=job.pk).exclude(status__in=FINISHED).update(cancel_requested=True, next_attempt_at=now)
    _note_cancel(job, user)
    job.refresh_from_db()
    return job


def _note_cancel(job: Job, user) -> None:
    if job.deployment_id:
        note(job, job.deployment, f"Cancel requested by {getattr(user, 'email', 'someone')}")
