"""Orphans: instances carrying a `ch-<uuid>` tag that no live deployment owns: its row is gone,
or it was terminated and the instance came back or was never confirmed, or the row does not know
this instance and never will (a duplicate of a deleted or failed deployment, or a create the
provider refused but made anyway, once the reconciler's own lookup window is over). One list call
per credential, at most every ORPHAN_SCAN_S; each orphan is reported, then terminated."""

import logging
import re
import uuid
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from computehub.realtime import publish_workspace_toast
from deployments.models import Deployment, DesiredState, EventKind, Status
from deployments.reconciler.calls import provider_call
from deployments.reconciler.schedule import FAILED_LOOKUP_S
from deployments.services import event_record
from providers.adapters import InstanceStatus, ProviderErrorBase
from providers.models import ProviderCredential
from providers.services import ProviderDisabled

logger = logging.getLogger(__name__)

ORPHAN_SCAN_S = 300
TAG = re.compile(r"ch-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def _deployment_id(tag: str | None) -> uuid.UUID | None:
    match = TAG.fullmatch(tag or "")
    return uuid.UUID(match.group(1)) if match else None


def _owners(ids) -> dict[uuid.UUID, Deployment]:
    return {d.pk: d for d in Deployment.objects.filter(pk__in=ids)}


def _lookup_over(deployment: Deployment) -> bool:
    changed = deployment.status_changed_at
    return changed is None or timezone.now() - changed > timedelta(seconds=FAILED_LOOKUP_S)


def _is_orphan(deployment: Deployment | None, instance) -> bool:
    # Any workspace's live row owns its tag: the same account may be connected in two workspaces.
    if deployment is None or deployment.status == Status.TERMINATED:
        return True
    if instance.instance_id == deployment.instance_id:
        return False  # its own instance: the reconciler stops or terminates it as asked
    if deployment.desired_state == DesiredState.DELETED:
        return bool(deployment.instance_id)  # without an id, the delete step adopts then terminates it
    # A failed row never acts on an instance it does not know; within the window it adopts it.
    return deployment.status == Status.FAILED and (bool(deployment.instance_id) or _lookup_over(deployment))


def _report(credential, instance, deployment: Deployment | None) -> None:
    message = f"Terminating orphaned instance {instance.instance_id} on {credential.label} (tag {instance.tag})"
    if deployment is not None:
        event_record(deployment=deployment, kind=EventKind.ORPHAN, message=message,
                     data={"instance_id": instance.instance_id})
    else:
        logger.warning("%s: its deployment no longer exists", message)
        publish_workspace_toast(workspace_id=credential.workspace_id, message=message, level="warning")


def scan_credential(credential: ProviderCredential) -> int:
    """Terminate this account's orphans; returns how many."""
    instances = [i for i in provider_call(credential, "list_instances")
                 if i.status != InstanceStatus.TERMINATED and _deployment_id(i.tag) is not None]
    owners = _owners({_deployment_id(i.tag) for i in instances})
    count = 0
    for instance in instances:
        deployment = owners.get(_deployment_id(instance.tag))
        if _is_orphan(deployment, instance):
            _report(credential, instance, deployment)
            provider_call(credential, "terminate", instance.instance_id)
            count += 1
    return count


def _due(credential, force: bool) -> bool:
    """Cross-process "at most every ORPHAN_SCAN_S": cache.add succeeds for one caller only."""
    key = f"deployments:orphan-scan:{credential.pk}"
    if force:
        cache.set(key, 1, ORPHAN_SCAN_S)
        return True
    return cache.add(key, 1, ORPHAN_SCAN_S)


def reconcile_orphans(*, force: bool = False) -> int:
    """Every credential whose scan is due; a failing provider is skipped until its next scan."""
    total = 0
    for credential in ProviderCredential.objects.all().order_by("pk"):
        if not _due(credential, force):
            continue
        try:
            total += scan_credential(credential)
        except (ProviderErrorBase, ProviderDisabled, TimeoutError) as exc:
            logger.info("Orphan scan of credential %s skipped: %s", credential.pk, exc)
    return total
