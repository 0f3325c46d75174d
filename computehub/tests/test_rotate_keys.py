"""Key rotation: a new key put first still decrypts old rows; the command moves every encrypted
column (provider keys, channel secrets, secret environments, SSH private keys) to it, is
idempotent, and fails loudly on a row it cannot decrypt."""

import base64
import os

import pytest
from django.core.management import CommandError, call_command

from accounts.ssh_keys_service import workspace_key_generate, workspace_private_key
from automation.models import NotificationChannel
from automation.notify.secrets import webhook_secrets
from automation.services.notify import channel_create
from computehub import crypto
from computehub.crypto_rotation import ENCRYPTED_FIELDS, RotationError, key_counts, rotate_all
from deployments.models import Deployment
from deployments.services.create import secret_env_of
from deployments.tests.factories import DeploymentFactory
from providers import services
from providers.models import ProviderCredential
from providers.tests.credential_fakes import fake_clouds  # noqa: F401

NEW_KEY = "test2:" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def old_rows(team, other_team, fake_clouds):
    rows = [services.credential_create(workspace=w["workspace"], provider="runpod", api_key=f"sk-CANARY-rot-{i:04d}",
                                       label="k", created_by=w["admin"]) for i, w in enumerate([team, other_team] * 3)]
    ProviderCredential.objects.create(workspace=team["workspace"], provider="local", label="This machine")  # no secret
    return rows


@pytest.fixture
def rotated_settings(settings):
    old = settings.COMPUTEHUB_ENCRYPTION_KEYS
    settings.COMPUTEHUB_ENCRYPTION_KEYS = f"{NEW_KEY},{old}"
    return old


def run_command(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out)
    return out.getvalue()


def test_rotation_moves_every_row_to_the_new_key(old_rows, rotated_settings, settings):
    assert all(services.credential_secret(row) == f"sk-CANARY-rot-{i:04d}" for i, row in enumerate(old_rows))
    output = run_command("--batch-size", "4")  # several pages
    assert "Before: test1: 6" in output and "After: test2: 6" in output
    assert key_counts() == {"test2": 6}
    settings.COMPUTEHUB_ENCRYPTION_KEYS = NEW_KEY  # the old key can now be removed
    for i, row in enumerate(old_rows):
        assert services.credential_secret(ProviderCredential.objects.get(pk=row.pk)) == f"sk-CANARY-rot-{i:04d}"


def test_rotation_is_idempotent(old_rows, rotated_settings):
    assert rotate_all() == {"test2": 6}
    before = dict(ProviderCredential.objects.values_list("pk", "secret"))
    assert rotate_all(batch_size=1) == {"test2": 6}
    assert dict(ProviderCredential.objects.values_list("pk", "secret")) == before  # nothing rewritten


def test_undecryptable_row_fails_loudly_and_the_rest_still_rotate(old_rows, rotated_settings):
    broken = old_rows[0]
    ProviderCredential.objects.filter(pk=broken.pk).update(secret=old_rows[1].secret)  # another row's ciphertext
    with pytest.raises(CommandError) as caught:
        run_command()
    assert str(broken.pk) in str(caught.value) and "could not be decrypted" in str(caught.value)
    assert crypto.key_id_of(ProviderCredential.objects.get(pk=broken.pk).secret) == "test1"  # left as it was
    assert key_counts() == {"test2": 5, "test1": 1}


def test_missing_old_key_is_reported_not_skipped(old_rows, settings):
    settings.COMPUTEHUB_ENCRYPTION_KEYS = NEW_KEY  # old key removed too early
    with pytest.raises(RotationError) as caught:
        rotate_all()
    assert len(caught.value.failed) == 6


def test_every_encrypted_column_moves_and_still_opens_with_only_the_new_key(team, settings):
    channel, signing_secret = channel_create(workspace=team["workspace"], user=team["admin"],
                                             data={"kind": "webhook", "url": "http://127.0.0.1:9/hook"})
    deployment = DeploymentFactory(workspace=team["workspace"])
    Deployment.objects.filter(pk=deployment.pk).update(secret_env=crypto.encrypt(
        '{"HF_TOKEN": "hf_CANARY"}', aad=ENCRYPTED_FIELDS[2].aad(deployment)))
    pair = workspace_key_generate(workspace=team["workspace"], user=team["admin"])
    private_key = workspace_private_key(pair)
    covered = {spec.model for spec in ENCRYPTED_FIELDS}
    assert {"automation.NotificationChannel", "deployments.Deployment", "accounts.WorkspaceKeyPair"} <= covered

    settings.COMPUTEHUB_ENCRYPTION_KEYS = f"{NEW_KEY},{settings.COMPUTEHUB_ENCRYPTION_KEYS}"
    assert rotate_all() == {"test2": 3}
    settings.COMPUTEHUB_ENCRYPTION_KEYS = NEW_KEY
    assert webhook_secrets(NotificationChannel.objects.get(pk=channel.pk)) == [signing_secret]
    assert secret_env_of(Deployment.objects.get(pk=deployment.pk)) == {"HF_TOKEN": "hf_CANARY"}
    pair.refresh_from_db()
    assert workspace_private_key(pair) == private_key
