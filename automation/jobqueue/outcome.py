"""How a finished workload looks from its deployment, for every provider.

The Local provider records the process's real exit code and reports it as the raw status
"exited <code>" (TERMINATED for 0, FAILED otherwise); the reconciler keeps that raw status on the
deployment. Clouds report no exit code: a job's command prints its own as its last log line
(automation.jobqueue.marker), read back from the deployment's stored logs. A code decides the
outcome (0 succeeded, else failed) whatever the instance's status says: a container whose command
ended looks failed (Vast.ai `exited`, RunPod EXITED by itself) or still running (a cloud that
restarts it). Without one, a terminated instance ended cleanly, a failed or stopped one did not,
and a preempted spot instance is retried."""

import re
from dataclasses import dataclass

from automation.jobqueue.marker import MARKER, exit_code_in
from deployments.models import Deployment, DesiredState, LogChunk, Status
from providers.models import ProviderKind

_EXITED = re.compile(r"exited (-?\d+)\Z")
ENDED = (Status.TERMINATED, Status.FAILED, Status.STOPPED, Status.PREEMPTED)


@dataclass(frozen=True)
class Outcome:
    outcome: str  # succeeded | failed | preempted | timeout | cancelled (JobAttempt.outcome)
    exit_code: int | None = None
    detail: str = ""

    @property
    def retryable(self) -> bool:
        return self.outcome in ("failed", "preempted")


def logged_exit_code(deployment: Deployment) -> int | None:
    """The code on the last marker line of the deployment's stored logs."""
    text = (LogChunk.objects.filter(deployment=deployment, text__contains=MARKER).order_by("-first_seq")
            .values_list("text", flat=True).first())
    return exit_code_in(text) if text else None


def exit_code_of(deployment: Deployment) -> int | None:
    """The Local provider's real code (its commands are not wrapped), else the one the wrapped
    command printed."""
    if deployment.provider == ProviderKind.LOCAL:
        match = _EXITED.match((deployment.raw_status or "").strip())
        return int(match.group(1)) if match else None
    return logged_exit_code(deployment)


def has_ended(deployment: Deployment) -> bool:
    return deployment.status in ENDED or deployment.desired_state == DesiredState.DELETED


def _detail(deployment: Deployment, fallback: str) -> str:
    return (deployment.last_error or deployment.raw_status or fallback)[:500]


def finished_outcome(deployment: Deployment) -> Outcome | None:
    """The attempt's end as the deployment shows it; None while its command still runs."""
    code = exit_code_of(deployment)
    if deployment.desired_state == DesiredState.DELETED:
        return Outcome("cancelled", code, "Its deployment was deleted outside the job queue.")
    if code == 0:
        return Outcome("succeeded", 0)
    if code is not None:
        return Outcome("failed", code, f"The command exited with code {code}.")
    if deployment.status == Status.TERMINATED:
        return Outcome("succeeded", None, _detail(deployment, "The workload ended."))
    if deployment.status == Status.FAILED:
        return Outcome("failed", None, _detail(deployment, "The workload failed."))
    if deployment.status == Status.PREEMPTED:
        return Outcome("preempted", None, "The provider took the spot instance away.")
    if deployment.status == Status.STOPPED:
        return Outcome("failed", None, _detail(deployment, "The instance stopped before the job finished."))
    return None
