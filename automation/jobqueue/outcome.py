"""How a finished workload looks from its deployment, for every provider.

The Local provider records the process's real exit code and reports it as the raw status
"exited <code>" (TERMINATED for 0, FAILED otherwise); the reconciler keeps that raw status on the
deployment. Clouds report a terminated instance (a clean end), a failed one, or a preempted spot
instance; where they give no exit code the attempt has none."""

import re
from dataclasses import dataclass

from deployments.models import Deployment, DesiredState, Status

_EXITED = re.compile(r"exited (-?\d+)\Z")


@dataclass(frozen=True)
class Outcome:
    outcome: str  # succeeded | failed | preempted | timeout | cancelled (JobAttempt.outcome)
    exit_code: int | None = None
    detail: str = ""

    @property
    def retryable(self) -> bool:
        return self.outcome in ("failed", "preempted")


def exit_code_of(deployment: Deployment) -> int | None:
    match = _EXITED.match((deployment.raw_status or "").strip())
    return int(match.group(1)) if match else None


def _detail(deployment: Deployment, fallback: str) -> str:
    return (deployment.last_error or deployment.raw_status or fallback)[:500]


def finished_outcome(deployment: Deployment) -> Outcome | None:
    """The attempt's end as the deployment shows it; None while it is still starting or running."""
    code = exit_code_of(deployment)
    if deployment.desired_state == DesiredState.DELETED:
        return Outcome("cancelled", code, "Its deployment was deleted outside the job queue.")
    if deployment.status == Status.TERMINATED:
        succeeded = code in (None, 0)
        return Outcome("succeeded" if succeeded else "failed", code, _detail(deployment, "The workload ended."))
    if deployment.status == Status.FAILED:
        return Outcome("failed", code, _detail(deployment, "The workload failed."))
    if deployment.status == Status.PREEMPTED:
        return Outcome("preempted", code, "The provider took the spot instance away.")
    if deployment.status == Status.STOPPED:
        return Outcome("failed", code, _detail(deployment, "The instance stopped before the job finished."))
    return None
