"""Reads of provider connections. Every read is scoped to a workspace."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from providers.adapters import adapter_class, all_kinds
from providers.models import ProviderCredential

# (capability action, column label) in the order the UI shows them.
CAPABILITY_ACTIONS = (
    ("spot", "Spot"),
    ("stop", "Stop / start"),
    ("restart", "Restart"),
    ("fetch_logs", "Logs"),
    ("fetch_metrics", "Metrics"),
    ("ssh_info", "SSH"),
)


@dataclass(frozen=True)
class Capability:
    action: str
    label: str
    supported: bool
    reason: str | None  # why not, in words for the person; None when supported


@dataclass(frozen=True)
class RefreshStatus:
    state: str  # "ok" | "stale" | "never"
    at: datetime | None  # ok: the oldest successful refresh; stale: since when it fails
    error: str  # stale only


@dataclass(frozen=True)
class ProviderKindStatus:
    kind: str
    display_name: str
    capabilities: tuple[Capability, ...]
    accounts: int
    refresh: RefreshStatus


def credentials_for_workspace(*, workspace) -> QuerySet[ProviderCredential]:
    return ProviderCredential.objects.filter(workspace=workspace).order_by("provider", "-is_sandbox", "label", "pk")


def credential_get(*, workspace, credential_id) -> ProviderCredential:
    """404 for another workspace's credential, exactly as for one that does not exist."""
    credential = credentials_for_workspace(workspace=workspace).filter(pk=credential_id).first()
    if credential is None:
        raise Http404("No such provider account.")
    return credential


def capabilities_of(kind: str) -> tuple[Capability, ...]:
    caps = adapter_class(kind).capabilities
    return tuple(Capability(action, label, caps.supports(action), caps.reason(action))
                 for action, label in CAPABILITY_ACTIONS)


def refresh_status(credentials) -> RefreshStatus:
    """The worst of the accounts: any failing makes the provider stale (since its earliest
    failure); any never refreshed (or no account at all) makes it "never"; otherwise ok."""
    failing = [c for c in credentials if c.refresh_error]
    if failing:
        first = min(failing, key=lambda c: (c.refresh_failed_at is None, c.refresh_failed_at or timezone.now()))
        return RefreshStatus("stale", first.refresh_failed_at, first.refresh_error)
    if not credentials or any(c.refreshed_at is None for c in credentials):
        return RefreshStatus("never", None, "")
    return RefreshStatus("ok", min(c.refreshed_at for c in credentials), "")


def provider_kinds_with_status(*, workspace) -> list[ProviderKindStatus]:
    by_kind: dict[str, list[ProviderCredential]] = {}
    for credential in credentials_for_workspace(workspace=workspace):
        by_kind.setdefault(credential.provider, []).append(credential)
    return [
        ProviderKindStatus(kind, adapter_class(kind).display_name, capabilities_of(kind),
                           len(by_kind.get(kind, [])), refresh_status(by_kind.get(kind, [])))
        for kind in all_kinds()
    ]
