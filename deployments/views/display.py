"""How a deployment reads on the pages: the status chip (one mapping, used by the list row, the
detail header and the live updates that re-render them) and uptime. The SSH line and endpoints
come from deployments.api.readouts, the one implementation the API uses too."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from deployments.models import DesiredState, Status

# Observed status → (label, chip style). The provider's raw status goes in the chip's title.
_CHIPS = {
    Status.PENDING: ("Starting", "starting"),
    Status.PROVISIONING: ("Starting", "starting"),
    Status.STARTING: ("Starting", "starting"),
    Status.RUNNING: ("Live", "live"),
    Status.STOPPING: ("Stopping…", "stopping"),
    Status.STOPPED: ("Stopped", "stopped"),
    Status.TERMINATING: ("Deleting…", "deleting"),
    Status.TERMINATED: ("Deleted", "stopped"),
    Status.FAILED: ("Error", "error"),
    Status.PREEMPTED: ("Preempted", "error"),
    Status.UNKNOWN: ("Unknown", "unknown"),
}
_SETTLED = {Status.TERMINATED, Status.STOPPED, Status.FAILED}
_CHANGING_STYLES = {"starting", "stopping", "deleting"}


@dataclass(frozen=True)
class Chip:
    label: str
    style: str
    title: str

    @property
    def changing(self) -> bool:
        """A change is under way: the page also polls for it, in case a live message is missed."""
        return self.style in _CHANGING_STYLES


def status_chip(deployment) -> Chip:
    """What the person sees; a pending delete or stop reads as under way before the provider moves."""
    label, style = _CHIPS.get(deployment.status, ("Unknown", "unknown"))
    if deployment.desired_state == DesiredState.DELETED and deployment.status != Status.TERMINATED:
        label, style = "Deleting…", "deleting"
    elif deployment.desired_state == DesiredState.STOPPED and deployment.status not in _SETTLED:
        label, style = "Stopping…", "stopping"
    raw = deployment.raw_status or deployment.get_status_display()
    title = f"Provider status: {raw}" + (f" · {deployment.last_error}" if deployment.last_error else "")
    return Chip(label, style, title)


def uptime(deployment, now=None) -> timedelta | None:
    if deployment.status != Status.RUNNING or not deployment.running_since:
        return None
    return (now or timezone.now()) - deployment.running_since


def short_duration(delta: timedelta | None) -> str:
    if delta is None:
        return "–"
    minutes = int(delta.total_seconds() // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def decorate(deployment, actions: dict | None = None):
    """Attach what the templates read, so one row template serves list, HTMX swap and detail."""
    deployment.chip = status_chip(deployment)
    deployment.uptime_text = short_duration(uptime(deployment))
    deployment.actions = actions or {}
    return deployment
