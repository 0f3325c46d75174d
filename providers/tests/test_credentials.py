"""Connecting, storing, deleting and defaulting provider keys (services), and their reads (selectors)."""

import pytest
from django.http import Http404
from django.test import override_settings

from accounts.services import workspace_create
from accounts.tests.factories import UserFactory
from computehub import crypto
from computehub.errors import ApplicationError
from providers import selectors, services
from providers.models import ProviderCredential
from providers.tests.credential_fakes import fake_clouds  # noqa: F401

GOOD_KEY = "sk-CANARY-good-key-0001"
BAD_KEY = "rp_refused_key_123456"


def connect(team, key=GOOD_KEY, provider="runpod", **extra):
    return services.credential_create(workspace=team["workspace"], provider=provider, api_key=key,
                                      label=extra.pop("label", "Research"), created_by=team["admin"], **extra)


def refusal(team, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        connect(team, **kwargs)
    return caught.value


# --- Create ----------------------------------------------------------------------------------


def test_good_key_is_checked_then_stored_encrypted(team, fake_clouds):
    credential = connect(team, key=f"  {GOOD_KEY}\n")
    stored = ProviderCredential.objects.get(pk=credential.pk)
    assert fake_clouds.calls == 1
    assert GOOD_KEY not in stored.secret and stored.secret.startswith("v1:aesgcm:test1:")
    assert services.credential_secret(stored) == GOOD_KEY  # stripped, and decrypts back
    assert stored.last4 == "0001" and stored.fingerprint == crypto.fingerprint(GOOD_KEY)
    assert stored.validated_at is not None and stored.created_by == team["admin"] and stored.label == "Research"


def test_ciphertext_moved_to_another_workspace_does_not_decrypt(team, other_team, fake_clouds):
    stored = connect(team)
    foreign = ProviderCredential.objects.create(workspace=other_team["workspace"], provider="runpod", label="x",
                                                secret=stored.secret)
    with pytest.raises(crypto.DecryptionError):
        services.credential_secret(foreign)


def test_refused_key_is_not_stored_and_the_message_says_why(team, fake_clouds):
    error = refusal(team, key=BAD_KEY)
    assert error.code == "key_refused" and error.message.startswith("RunPod refused this key:")
    assert BAD_KEY not in error.message and BAD_KEY not in str(error.fields)
    assert not ProviderCredential.objects.filter(provider="runpod").exists()


@pytest.mark.parametrize("mode", ["down", "hang"])
def test_unreachable_provider_stores_nothing(team, fake_clouds, mode, monkeypatch):
    monkeypatch.setattr(services, "VALIDATE_TIMEOUT_S", 0.2)
    fake_clouds.mode = mode
    error = refusal(team)
    assert error.code == "provider_unreachable" and error.status == 503
    assert "Could not reach RunPod to check the key" in error.message
    assert not ProviderCredential.objects.filter(provider="runpod").exists()


def test_unexpected_answer_echoing_the_key_is_not_shown(team, fake_clouds, caplog):
    fake_clouds.mode = "echo"
    error = refusal(team)
    assert error.code == "provider_error" and GOOD_KEY not in error.message
    assert GOOD_KEY not in caplog.text and "[redacted]" in caplog.text
    assert not ProviderCredential.objects.filter(provider="runpod").exists()


def test_same_key_twice_in_a_workspace_is_refused_before_asking_the_provider(team, other_team, fake_clouds):
    connect(team)
    error = refusal(team, label="Again")
    assert error.code == "duplicate" and error.status == 409 and "already connected" in error.message
    assert fake_clouds.calls == 1
    services.credential_create(workspace=other_team["workspace"], provider="runpod", api_key=GOOD_KEY,
                               label="Theirs", created_by=other_team["admin"])  # another workspace may


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"key": "   "}, "api_key"),
    ({"provider": "nimbus"}, "provider"),
    ({"base_url": "file:///etc/passwd"}, "base_url"),
    ({"base_url": "ftp://example.com/x"}, "base_url"),
])
def test_invalid_input_is_refused_without_calling_the_provider(team, fake_clouds, kwargs, field):
    assert field in refusal(team, **kwargs).fields
    assert fake_clouds.calls == 0 and not ProviderCredential.objects.filter(provider="runpod").exists()


def test_base_url_outside_the_allowlist_is_refused(team, fake_clouds, settings):
    settings.COMPUTEHUB_ALLOWED_PROVIDER_URLS = ["https://gateway.example.com/"]
    settings.COMPUTEHUB_SANDBOX_URL = ""
    for url in ("http://127.0.0.1:9/runpod", "http://169.254.169.254/latest", "https://gateway.example.com.evil.io/"):
        with pytest.raises(ApplicationError, match="not enabled") as refused:
            connect(team, base_url=url)
        assert "base_url" in refused.value.fields
    assert not ProviderCredential.objects.filter(workspace=team["workspace"]).exists()
    assert connect(team, base_url="https://gateway.example.com/runpod").base_url == "https://gateway.example.com/runpod"


def test_base_url_and_default_label(team, fake_clouds):
    credential = connect(team, label=" ", base_url="http://127.0.0.1:9/runpod/v1/")
    assert credential.base_url == "http://127.0.0.1:9/runpod/v1" and credential.label == "RunPod"


def test_delete_forgets_the_key(team, fake_clouds):
    credential = connect(team)
    services.credential_delete(credential=credential)
    assert not ProviderCredential.objects.filter(pk=credential.pk).exists()


# --- Defaults for new workspaces -------------------------------------------------------------


@override_settings(COMPUTEHUB_SANDBOX_URL="http://127.0.0.1:8765/", COMPUTEHUB_LOCAL_PROVIDER=True)
def test_new_workspace_gets_sandbox_accounts_and_this_machine(db, fake_clouds):
    workspace = workspace_create(name="Fresh", created_by=UserFactory())
    rows = {c.provider: c for c in selectors.credentials_for_workspace(workspace=workspace)}
    assert set(rows) == {"runpod", "lambda", "local"}
    sandbox = rows["lambda"]
    assert sandbox.is_sandbox and sandbox.label == "Sandbox" and sandbox.validated_at is None
    assert sandbox.base_url == "http://127.0.0.1:8765/lambda/api/v1"
    assert services.credential_secret(sandbox).startswith("sbx-") and sandbox.last4 and sandbox.fingerprint
    assert rows["local"].label == "This machine" and rows["local"].secret == "" and not rows["local"].is_sandbox
    assert services.workspace_connect_defaults(workspace=workspace) == []  # idempotent
    assert fake_clouds.calls == 0  # no validation round-trip


def test_no_defaults_without_settings(db, fake_clouds):
    workspace = workspace_create(name="Plain", created_by=UserFactory())
    assert not selectors.credentials_for_workspace(workspace=workspace).exists()


# --- Selectors -------------------------------------------------------------------------------


def test_credential_get_is_scoped_to_the_workspace(team, other_team, fake_clouds):
    credential = connect(team)
    assert selectors.credential_get(workspace=team["workspace"], credential_id=credential.pk) == credential
    with pytest.raises(Http404):
        selectors.credential_get(workspace=other_team["workspace"], credential_id=credential.pk)


def _kinds(team):
    return {k.kind: k for k in selectors.provider_kinds_with_status(workspace=team["workspace"])}


def test_provider_kinds_list_capabilities_with_reasons(team, fake_clouds):
    kinds = _kinds(team)
    assert set(kinds) == {"runpod", "lambda"} and kinds["runpod"].display_name == "RunPod"
    runpod = {c.action: c for c in kinds["runpod"].capabilities}
    lam = {c.action: c for c in kinds["lambda"].capabilities}
    assert runpod["spot"].supported and runpod["spot"].reason is None
    assert not lam["spot"].supported and lam["spot"].reason == "Lambda has no spot (interruptible) instances"
    assert "cannot stop" in lam["stop"].reason and [c.label for c in kinds["runpod"].capabilities][0] == "Spot"


def test_refresh_status_is_the_worst_of_the_accounts(team, fake_clouds):
    from django.utils import timezone

    assert _kinds(team)["runpod"].refresh.state == "never" and _kinds(team)["runpod"].accounts == 0
    first, second = connect(team), connect(team, key=GOOD_KEY + "-2", label="Two")
    now = timezone.now()
    ProviderCredential.objects.filter(pk__in=[first.pk, second.pk]).update(refreshed_at=now)
    status = _kinds(team)["runpod"]
    assert (status.accounts, status.refresh.state, status.refresh.at) == (2, "ok", now)
    ProviderCredential.objects.filter(pk=second.pk).update(refresh_error="rate limited", refresh_failed_at=now)
    stale = _kinds(team)["runpod"].refresh
    assert (stale.state, stale.at, stale.error) == ("stale", now, "rate limited")


# --- End to end with the real adapters against the sandbox clouds (loopback) -----------------


def _remote_kinds():
    from providers.adapters import all_kinds

    return [kind for kind in all_kinds() if kind != "local"]


@pytest.mark.parametrize("kind", _remote_kinds())
def test_real_adapter_checks_keys_against_its_sandbox(team, sandbox, kind):
    from providers.adapters import adapter_class
    from providers.sandbox import sandbox_base_url

    cls = adapter_class(kind)
    base_url = sandbox_base_url(sandbox.root_url, kind, cls.default_base_url)
    good = f"sbx-e2e-{kind}-key-0001"
    credential = connect(team, key=good, provider=kind, base_url=base_url)
    assert services.credential_secret(credential) == good and credential.base_url == base_url
    error = refusal(team, key=f"nope-{kind}-key-0002", provider=kind, base_url=base_url)
    assert error.code == "key_refused" and error.message.startswith(f"{cls.display_name} refused this key")
    assert f"nope-{kind}-key-0002" not in error.message
