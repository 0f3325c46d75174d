"""Writes for provider connections, and the one way to get a working adapter for a credential.

A key is checked with the provider before anything is stored, encrypted with this row's
associated data, and from then on shown only as `last4` + `fingerprint`. Messages, logs and
exceptions raised here never contain the key (tests/test_canary.py proves it).
"""

import asyncio
import logging
import secrets
import uuid

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from computehub import crypto
from computehub.errors import ApplicationError
from computehub.http import redact
from providers.adapters import (AuthError, ProviderAdapter, ProviderErrorBase, ProviderUnavailable, RateLimited,
                                adapter_class, all_kinds)
from providers import url_allowlist
from providers.models import ProviderCredential, ProviderKind, provider_display_name

logger = logging.getLogger(__name__)

SECRET_FIELD = "secret"
SANDBOX_LABEL = "Sandbox"
LOCAL_LABEL = "This machine"
SANDBOX_KEY_PREFIX = "sbx-"  # what every sandbox cloud accepts (providers/sandbox/base.py)
# A check the provider cannot answer in this time is "unreachable": the person is waiting on a form.
VALIDATE_TIMEOUT_S = 20.0


def credential_aad(credential: ProviderCredential) -> str:
    """Binds the ciphertext to this row and workspace: moved elsewhere, it no longer decrypts."""
    return crypto.aad_for("providers.providercredential", SECRET_FIELD, credential.workspace_id, credential.pk)


def credential_secret(credential: ProviderCredential) -> str:
    """The decrypted API key. Raises crypto.DecryptionError loudly; never returns ciphertext."""
    if not credential.secret:
        return ""
    return crypto.decrypt(credential.secret, aad=credential_aad(credential))


class ProviderDisabled(Exception):
    """The credential's provider is switched off on this server (e.g. "This machine" while
    COMPUTEHUB_LOCAL_PROVIDER is off). The message says so plainly; callers show it."""


def local_provider_enabled() -> bool:
    return bool(getattr(settings, "COMPUTEHUB_LOCAL_PROVIDER", False))


def credential_adapter(credential: ProviderCredential, *, transport=None) -> ProviderAdapter:
    """An adapter acting with this credential's key, against its base URL (sandbox or real).
    Raises ProviderDisabled for a "This machine" credential while the local provider is off: the
    row may predate the setting being turned off, and must not keep running commands here."""
    if credential.provider == ProviderKind.LOCAL and not local_provider_enabled():
        raise ProviderDisabled("This machine is disabled on this server (COMPUTEHUB_LOCAL_PROVIDER is off).")
    cls = adapter_class(credential.provider)
    return cls(credential_secret(credential), base_url=credential.base_url or None, transport=transport)


def sandbox_enabled() -> bool:
    return bool(getattr(settings, "COMPUTEHUB_SANDBOX_URL", ""))


# --- Connect ---------------------------------------------------------------------------------


def connectable_kinds() -> list[str]:
    """What a member may connect with a key. "This machine" is not among them: it runs commands
    on the server itself, so only workspace_connect_defaults creates it, and only when the
    operator turned COMPUTEHUB_LOCAL_PROVIDER on."""
    return [kind for kind in all_kinds() if kind != ProviderKind.LOCAL]


def _adapter_class_or_refuse(provider: str) -> type[ProviderAdapter]:
    if provider == ProviderKind.LOCAL:
        raise ApplicationError(
            "This machine cannot be connected by hand: an operator turns it on for every workspace "
            "with COMPUTEHUB_LOCAL_PROVIDER.",
            fields={"provider": ["Choose one of the supported clouds."]},
        )
    if provider not in all_kinds():
        raise ApplicationError(
            f"ComputeHub cannot connect to {provider!r}: there is no adapter for it.",
            fields={"provider": ["Choose one of the supported clouds."]},
        )
    return adapter_class(provider)


def _clean_base_url(base_url: str, provider: str) -> str:
    """Only for sandboxes and self-hosted gateways, and only under an allowed prefix (see
    providers/url_allowlist.py): otherwise any Admin could make this server call internal
    addresses with a key (SSRF)."""
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url:
        return ""
    try:
        allowed = url_allowlist.is_allowed(base_url, provider)
    except url_allowlist.UrlRefused as exc:
        raise ApplicationError(str(exc), fields={"base_url": [str(exc)]}) from None
    if not allowed:
        raise ApplicationError(
            "Custom API addresses are not enabled on this server. An operator can allow them with "
            "COMPUTEHUB_ALLOWED_PROVIDER_URLS.",
            fields={"base_url": ["This address is not on the server's allowlist."]},
        )
    return base_url


def _refuse_duplicate(*, workspace, provider: str, fingerprint: str) -> None:
    existing = ProviderCredential.objects.filter(workspace=workspace, provider=provider, fingerprint=fingerprint).first()
    if existing is not None:
        raise ApplicationError(
            f"This key is already connected in this workspace as {existing.label!r}.",
            code="duplicate", fields={"api_key": ["This key is already connected."]}, status=409,
        )


async def _validate(adapter: ProviderAdapter) -> None:
    async with adapter:  # closes the connection pool in the loop that opened it
        await asyncio.wait_for(adapter.validate_credential(), VALIDATE_TIMEOUT_S)


def _refusal(provider: str, exc: Exception, api_key: str) -> ApplicationError:
    """The provider's answer as a message for the person; the key is scrubbed even if echoed."""
    name = provider_display_name(provider)
    if isinstance(exc, AuthError):
        reason = redact(str(exc), (api_key,))
        return ApplicationError(f"{name} refused this key: {reason}", code="key_refused",
                                fields={"api_key": [f"{name} refused this key."]})
    if isinstance(exc, ProviderUnavailable | RateLimited | TimeoutError):
        return ApplicationError(f"Could not reach {name} to check the key, try again in a minute. Nothing was saved.",
                                code="provider_unreachable", status=503)
    # The raw body is logged (scrubbed), not shown: a base URL pointing elsewhere must not turn
    # this form into a way to read internal pages.
    logger.warning("Unexpected answer from %s while checking a key: %s", provider, redact(str(exc), (api_key,)))
    return ApplicationError(f"{name} gave an unexpected answer while checking the key. Nothing was saved.",
                            code="provider_error", status=502)


@sensitive_variables("api_key", "adapter")
def _check_with_provider(cls: type[ProviderAdapter], api_key: str, base_url: str) -> None:
    adapter = cls(api_key, base_url=base_url or None)
    try:
        async_to_sync(_validate)(adapter)
    except (ProviderErrorBase, TimeoutError) as exc:
        raise _refusal(cls.kind, exc, api_key) from None  # no chained exception to carry the key


@sensitive_variables("api_key")
def _store(credential: ProviderCredential, api_key: str) -> ProviderCredential:
    credential.secret = crypto.encrypt(api_key, aad=credential_aad(credential))
    try:
        with transaction.atomic():
            credential.save(force_insert=True)
    except IntegrityError:  # the same key connected concurrently: the constraint decides
        raise ApplicationError("This key is already connected in this workspace.", code="duplicate",
                               fields={"api_key": ["This key is already connected."]}, status=409) from None
    return credential


@sensitive_variables("api_key")
def credential_create(*, workspace, provider: str, api_key: str, label: str, created_by,
                      base_url: str = "") -> ProviderCredential:
    """Check the key with the provider, then store it encrypted. Nothing is stored on refusal."""
    api_key, label = (api_key or "").strip(), (label or "").strip()
    if not api_key:
        raise ApplicationError("Paste the API key from the provider's console.",
                               fields={"api_key": ["This field is required."]})
    cls = _adapter_class_or_refuse(provider)
    base_url = _clean_base_url(base_url, provider)
    fingerprint = crypto.fingerprint(api_key)
    _refuse_duplicate(workspace=workspace, provider=provider, fingerprint=fingerprint)
    _check_with_provider(cls, api_key, base_url)
    credential = ProviderCredential(
        workspace=workspace, provider=provider, label=(label or cls.display_name)[:80], base_url=base_url,
        last4=crypto.last4(api_key), fingerprint=fingerprint, created_by=created_by, validated_at=timezone.now(),
    )
    credential = _store(credential, api_key)
    logger.info("Connected %s credential %s (fingerprint %s)", provider, credential.pk, fingerprint)
    return credential


def credential_delete(*, credential: ProviderCredential) -> None:
    """Forget the key, unless deployments still use it: without the key nobody could stop or
    terminate their instances, and they would bill on unseen."""
    with transaction.atomic():
        _refuse_while_deployed(credential)
        # Finished deployments go with the account (Deployment.credential is PROTECT, so they
        # would otherwise block it forever); their instances are confirmed terminated. A live one
        # launched meanwhile still blocks the delete (ProtectedError) rather than being dropped.
        credential.deployments.filter(desired_state="deleted", status="terminated").delete()
        credential.delete()
    logger.info("Deleted %s credential %s (fingerprint %s)", credential.provider, credential.pk, credential.fingerprint)


def _refuse_while_deployed(credential: ProviderCredential) -> None:
    live = credential.deployments.exclude(desired_state="deleted", status="terminated").count()
    if live:
        raise ApplicationError(
            f"{credential.label} still has {live} deployment(s). Delete them and wait until they are terminated, "
            "then disconnect the account.", code="in_use", status=409)


# --- Defaults for a new workspace ------------------------------------------------------------


def _remote_kinds() -> list[str]:
    return connectable_kinds()


@sensitive_variables("key")
def _sandbox_credential(workspace, kind: str) -> ProviderCredential:
    from providers.sandbox import sandbox_base_url  # the sandbox package is optional at runtime

    cls = adapter_class(kind)
    key = SANDBOX_KEY_PREFIX + secrets.token_urlsafe(24)
    credential = ProviderCredential(
        workspace=workspace, provider=kind, label=SANDBOX_LABEL, is_sandbox=True,
        base_url=sandbox_base_url(settings.COMPUTEHUB_SANDBOX_URL, kind, cls.default_base_url),
        last4=crypto.last4(key), fingerprint=crypto.fingerprint(key),
    )
    credential.secret = crypto.encrypt(key, aad=credential_aad(credential))
    credential.save(force_insert=True)
    return credential


def workspace_connect_defaults(*, workspace) -> list[ProviderCredential]:
    """A clearly labelled Sandbox account per remote provider (when a sandbox is configured) and
    "This machine" (when the local provider is on). No validation round-trip: the sandbox may
    start after the web process. Safe to call twice: existing defaults are kept."""
    created = []
    existing = set(ProviderCredential.objects.filter(workspace=workspace).values_list("provider", "label"))
    if sandbox_enabled():
        created += [_sandbox_credential(workspace, kind) for kind in _remote_kinds()
                    if (kind, SANDBOX_LABEL) not in existing]
    if local_provider_enabled() and (ProviderKind.LOCAL, LOCAL_LABEL) not in existing:
        created.append(_local_credential(workspace))
    return created


@sensitive_variables("key")
def _local_credential(workspace) -> ProviderCredential:
    """The machine needs no key, but each Local credential gets a random one: LocalAdapter keeps
    its instances under a folder named from the key's fingerprint, so two workspaces never see
    (or stop) each other's processes."""
    key = f"local-{uuid.uuid4().hex}"
    credential = ProviderCredential(workspace=workspace, provider=ProviderKind.LOCAL, label=LOCAL_LABEL,
                                    last4=crypto.last4(key), fingerprint=crypto.fingerprint(key))
    credential.secret = crypto.encrypt(key, aad=credential_aad(credential))
    credential.save(force_insert=True)
    return credential
