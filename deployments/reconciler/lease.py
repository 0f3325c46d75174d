"""A lease per deployment (dstack's lock_token/lock_expires_at, reliability.md §4.1): a
conditional UPDATE claims the row only if it is free or its lease expired, so two workers never
act on one deployment at once, and a worker that died holds it only until the lease runs out."""

import contextlib
import contextvars
import os
import socket
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from deployments.models import Deployment

# Longer than one provider call (calls.CALL_TIMEOUT_S) with margin; renewed before every call, so a
# step of several calls keeps it, and a worker that died mid-step blocks the deployment (a cost-cap
# stop, say) for at most this long.
LEASE_S = 90
_held = contextvars.ContextVar("reconciler_lease", default=None)


def new_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def claim(deployment_id, owner: str) -> bool:
    now = timezone.now()
    free = Q(lease_owner="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    claimed = Deployment.objects.filter(free, pk=deployment_id).update(
        lease_owner=owner, lease_until=now + timedelta(seconds=LEASE_S))
    return claimed == 1


@contextlib.contextmanager
def holding(deployment_id, owner: str):
    """Provider calls made inside (in this thread) renew this lease first."""
    token = _held.set((deployment_id, owner))
    try:
        yield
    finally:
        _held.reset(token)


def renew() -> None:
    held = _held.get()
    if held is not None:
        Deployment.objects.filter(pk=held[0], lease_owner=held[1]).update(
            lease_until=timezone.now() + timedelta(seconds=LEASE_S))


def release(deployment_id, owner: str) -> None:
    Deployment.objects.filter(pk=deployment_id, lease_owner=owner).update(lease_owner="", lease_until=None)
