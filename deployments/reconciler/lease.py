"""A lease per deployment (dstack's lock_token/lock_expires_at, reliability.md §4.1): a
conditional UPDATE claims the row only if it is free or its lease expired, so two workers never
act on one deployment at once, and a worker that died holds it only until the lease runs out."""

import os
import socket
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from deployments.models import Deployment

# Longer than one step can take: a delete step makes up to three calls of CALL_TIMEOUT_S each.
LEASE_S = 300


def new_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def claim(deployment_id, owner: str) -> bool:
    now = timezone.now()
    free = Q(lease_owner="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    claimed = Deployment.objects.filter(free, pk=deployment_id).update(
        lease_owner=owner, lease_until=now + timedelta(seconds=LEASE_S))
    return claimed == 1


def release(deployment_id, owner: str) -> None:
    Deployment.objects.filter(pk=deployment_id, lease_owner=owner).update(lease_owner="", lease_until=None)
