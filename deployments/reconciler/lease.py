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
# step of several calls keeps it. A renewal lasts only as long as the call it precedes may take plus
# AFTER_CALL_S for the writes that follow it, so a worker that died mid-step (after a cost cap's
# stop call, say) blocks the deployment no longer than needed.
LEASE_S = 90
AFTER_CALL_S = 10
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


def renew(call_s: float | None = None) -> None:
    """Before a provider call bounded to `call_s` seconds (None: unknown, the full LEASE_S)."""
    held = _held.get()
    if held is not None:
        seconds = LEASE_S if call_s is None else min(LEASE_S, call_s + AFTER_CALL_S)
        Deployment.objects.filter(pk=held[0], lease_owner=held[1]).update(
            lease_until=timezone.now() + timedelta(seconds=seconds))


def release(deployment_id, owner: str) -> None:
    Deployment.objects.filter(pk=deployment_id, lease_owner=owner).update(lease_owner="", lease_until=None)
