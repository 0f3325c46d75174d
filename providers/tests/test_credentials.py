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


GATEWAY = "https://gw.example.com"
SANDBOX_ROOT = "http://127.0.0.1:8001"


@pytest.fixture
def allowlist(settings):
    settings.COMPUTEHUB_ALLOWED_PROVIDER_URLS = [GATEWAY, "https://api.example.org:8443/v2/"]
    settings.COMPUTEHUB_SANDBOX_URL = SANDBOX_ROOT + "/"


@pytest.mark.parametrize("url", [
    "https://gw.example.com@169.254.169.254/",              # userinfo: the real host is after the @
    "https://user:pw@gw.example.com/runpod",
    f"{SANDBOX_ROOT}/_sandbox/runpod/reset?x=",              # query (and the sandbox's controls)
    f"{SANDBOX_ROOT}/runpod/graphql?",
    "https://gw.example.com/runpod#frag",                   # fragment
    "https://gw.example.com/runpod/%2e%2e/admin",           # encoded dot segment
    "https://gw.example.com:99999/",                         # invalid port
])
def test_base_url_with_userinfo_query_fragment_or_tricks_is_refused(team, fake_clouds, allowlist, url):
    assert "base_url" in refusal(team, base_url=url).fields
    assert fake_clouds.calls == 0


@pytest.mark.parametrize("url", [
    "https://gw.example.com.evil.io/",            # a prefix without trailing slash is not a host prefix
    "https://gw.example.comevil/",
    "http://gw.example.com/runpod",               # scheme mismatch
    "https://gw.example.com:8443/runpod",         # port mismatch
    "https://api.example.org/v2/runpod",          # port mismatch (default 443 vs 8443)
    "https://api.example.org:8443/v2x/runpod",    # path continues only on a "/" boundary
    "https://api.example.org:8443/v1/",
    f"{SANDBOX_ROOT}/vast/api/v0",                # the sandbox of another kind
    f"{SANDBOX_ROOT}/_sandbox/runpod/faults",     # the sandbox's control endpoints
    f"{SANDBOX_ROOT}/",
    "http://127.0.0.1:8002/runpod",               # the sandbox host on another port
])
def test_base_url_outside_the_exact_allowlist_is_refused(team, fake_clouds, allowlist, url):
    with pytest.raises(ApplicationError, match="not enabled") as refused:
        connect(team, base_url=url)
    assert "base_url" in refused.value.fields and fake_clouds.calls == 0


@pytest.mark.parametrize("url", [
    "https://gw.example.com", "https://GW.example.com:443/runpod/v1/", "https://api.example.org:8443/v2",
    "https://api.example.org:8443/v2/runpod", f"{SANDBOX_ROOT}/runpod", f"{SANDBOX_ROOT}/runpod/graphql",
])
def test_base_url_under_an_allowed_prefix_is_accepted(team, fake_clouds, allowlist, url):
    assert connect(team, base_url=url).base_url == url.rstrip("/")


def test_base_url_and_default_label(team, fake_clouds):
    credential = connect(team, label=" ", base_url="http://127.0.0.1:9/runpod/v1/")
    assert credential.base_url == "http://127.0.0.1:9/runpod/v1" and credential.label == "RunPod"


def test_delete_forgets_the_key(team, fake_clouds):
    credential = connect(team)
    services.credential_delete(credential=credential)
    assert not ProviderCredential.objects.filter(pk=credential.pk).exists()


# --- "This machine" is never connected by hand --------------------------------------------


@pytest.mark.parametrize("enabled", [False, True])
def test_local_cannot_be_connected_through_the_service(team, fake_clouds, settings, enabled):
    settings.COMPUTEHUB_LOCAL_PROVIDER = enabled
    error = refusal(team, provider="local", key="anything-at-all-123")
    assert "cannot be connected" in error.message and "provider" in error.fields
    assert not ProviderCredential.objects.filter(provider="local").exists()


def test_local_is_not_a_choice_of_the_connect_form(db):
    from providers.forms import ConnectForm

    assert "local" not in dict(ConnectForm().fields["provider"].choices)
    form = ConnectForm({"provider": "local", "api_key": "x" * 20})
    assert not form.is_valid() and "provider" in form.errors


def test_local_credential_adapter_is_refused_once_the_setting_is_off(db, settings):
    settings.COMPUTEHUB_LOCAL_PROVIDER = True  # (not override_settings: it would unwind out of order)
    workspace = workspace_create(name="Was on", created_by=UserFactory())
    local = ProviderCredential.objects.get(workspace=workspace, provider="local")
    assert services.credential_adapter(local).kind == "local"
    settings.COMPUTEHUB_LOCAL_PROVIDER = False
    with pytest.raises(services.ProviderDisabled, match="COMPUTEHUB_LOCAL_PROVIDER is off") as refused:
        services.credential_adapter(local)


def test_refresh_records_a_disabled_local_credential_as_its_refresh_error(db, settings):
    settings.COMPUTEHUB_LOCAL_PROVIDER = True  # (not override_settings: it would unwind out of order)
    from pricing.services import refresh_offers

    workspace = workspace_create(name="Was on", created_by=UserFactory())
    settings.COMPUTEHUB_LOCAL_PROVIDER = False
    refresh_offers(workspace=workspace)
    local = ProviderCredential.objects.get(workspace=workspace, provider="local")
    assert "disabled on this server" in local.refresh_error and local.refreshed_at is None


@override_settings(COMPUTEHUB_LOCAL_PROVIDER=True)
def test_two_workspaces_get_local_credentials_with_different_keys(db, fake_clouds):
    one, two = (workspace_create(name=n, created_by=UserFactory()) for n in ("One", "Two"))
    keys = [services.credential_secret(ProviderCredential.objects.get(workspace=w, provider="local")) for w in (one, two)]
    assert keys[0] != keys[1] and all(k.startswith("local-") for k in keys)


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
    local = rows["local"]
    assert local.label == "This machine" and not local.is_sandbox
    assert services.credential_secret(local).startswith("local-") and local.fingerprint  # its own namespace
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
def test_real_adapter_checks_keys_against_its_sandbox(team, sandbox, kind, settings):
    from providers.adapters import adapter_class
    from providers.sandbox import sandbox_base_url

    settings.COMPUTEHUB_SANDBOX_URL = sandbox.root_url

    cls = adapter_class(kind)
    base_url = sandbox_base_url(sandbox.root_url, kind, cls.default_base_url)
    good = f"sbx-e2e-{kind}-key-0001"
    credential = connect(team, key=good, provider=kind, base_url=base_url)
    assert services.credential_secret(credential) == good and credential.base_url == base_url
    error = refusal(team, key=f"nope-{kind}-key-0002", provider=kind, base_url=base_url)
    assert error.code == "key_refused" and error.message.startswith(f"{cls.display_name} refused this key")
    assert f"nope-{kind}-key-0002" not in error.message
