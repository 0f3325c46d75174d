"""The timeline, which is also the audit log."""

from deployments.models import DeploymentEvent

MESSAGE_MAX = 300


def event_record(*, deployment, kind, message, actor=None, data=None) -> DeploymentEvent:
    """Append one event. Messages are cut to the column; callers never put secrets in them."""
    return DeploymentEvent.objects.create(deployment=deployment, kind=kind, message=str(message)[:MESSAGE_MAX],
                                          actor=actor, data=data or {})
