"""The timeline, which is also the audit log."""

from django.db import transaction

from deployments.models import DeploymentEvent
from deployments.realtime import publish_event

MESSAGE_MAX = 300


def event_record(*, deployment, kind, message, actor=None, data=None) -> DeploymentEvent:
    """Append one event (viewers' timelines refresh once it is committed). Messages are cut to the
    column; callers never put secrets in them."""
    event = DeploymentEvent.objects.create(deployment=deployment, kind=kind, message=str(message)[:MESSAGE_MAX],
                                           actor=actor, data=data or {})
    transaction.on_commit(lambda: publish_event(deployment.pk))
    return event
