"""The remote file browser end to end on loopback: launches on the sandbox clouds install the
workspace's keys, whose SSH servers (providers/sandbox/ssh.py) accept only those keys, and the
detail page browses and downloads the instance's /workspace over SFTP with the same limits and
traversal refusals as Local, trusting the host key on first use and refusing a changed one."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from accounts.models import SshKnownHost
from accounts.ssh_keys_service import member_key_add, workspace_key_generate
from deployments import files
from deployments.models import Status
from deployments.tests.test_lifecycle_sandbox import connected, drive, launch, status_is  # noqa: F401
from providers.sandbox import ssh

pytestmark = pytest.mark.django_db(transaction=True)

MEMBER_KEY = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " bob@laptop"
OPERATOR_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yY29tcHV0ZWh1YnRlc3RzMDE="
SSH_KINDS = ("lambda", "paperspace", "runpod", "tensordock", "vast")


def _key_body(line: str) -> str:
    return " ".join(line.split()[:2])


def running(workspace, user, kind):
    return drive(launch(workspace, user, kind), status_is(Status.RUNNING))


@pytest.fixture
def keyed(connected, team):  # noqa: F811
    pair = workspace_key_generate(workspace=connected, user=team["admin"])
    member_key_add(workspace=connected, user=team["developer"], name="laptop", public_key=MEMBER_KEY)
    return pair


@pytest.mark.parametrize("kind", SSH_KINDS)
def test_every_launch_installs_the_workspace_member_and_operator_keys(kind, team, sandbox, keyed):
    deployment = running(team["workspace"], team["admin"], kind)
    installed = ssh.authorized_keys(sandbox.clouds[kind], deployment.instance_id)
    assert set(installed) == {_key_body(keyed.public_key), _key_body(MEMBER_KEY), OPERATOR_KEY}


def files_url(deployment, suffix="", path=None):
    base = f"/deployments/{deployment.pk}/files/{suffix}"
    return base if path is None else f"{base}?path={path}"


@pytest.mark.parametrize("kind", ["runpod", "vast", "tensordock"])
def test_lists_and_downloads_the_workspace_folder_over_sftp(kind, team, sandbox, keyed, client_in):
    deployment = running(team["workspace"], team["admin"], kind)
    client = client_in(team["viewer"], team["workspace"])
    page = client.get(f"/deployments/{deployment.pk}/").content.decode()
    assert f'hx-get="/deployments/{deployment.pk}/files/"' in page
    listing = client.get(files_url(deployment), HTTP_HX_REQUEST="true").content.decode()
    root_of = {"runpod": "README.md", "vast": "README.md", "tensordock": "workspace/"}[kind]
    assert root_of in listing and "escape" not in listing  # the symlink to .. leads out: left out
    prefix = "" if kind != "tensordock" else "workspace/"  # TensorDock: the SSH user's home (no /workspace default)
    download = client.get(files_url(deployment, "download/", f"{prefix}outputs/result.json"))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b'{"epochs": 3, "loss": 0.042}\n'
    known = SshKnownHost.objects.get(deployment_id=deployment.pk)
    assert known.fingerprint.startswith("SHA256:") and known.port == deployment.ssh_port


@pytest.mark.parametrize("path", ["..", "../..", "/etc/passwd", "outputs/../../workspace/../etc", "escape", "a\\b"])
def test_refuses_paths_outside_the_remote_root(path, team, sandbox, keyed, client_in):
    deployment = running(team["workspace"], team["admin"], "runpod")
    client = client_in(team["developer"], team["workspace"])
    assert client.get(files_url(deployment, "download/", path)).status_code in (403, 404)
    assert client.get(files_url(deployment, path=path)).status_code == 403


def test_missing_and_too_large_remote_files(team, sandbox, keyed, client_in, monkeypatch):
    deployment = running(team["workspace"], team["admin"], "runpod")
    client = client_in(team["developer"], team["workspace"])
    assert client.get(files_url(deployment, "download/", "nope.txt")).status_code == 404
    assert client.get(files_url(deployment, "download/", "outputs")).status_code == 404
    monkeypatch.setattr(files.common, "MAX_DOWNLOAD_BYTES", 4)
    assert client.get(files_url(deployment, "download/", "README.md")).status_code == 403


def test_a_changed_host_key_is_refused(team, sandbox, keyed, client_in):
    deployment = running(team["workspace"], team["admin"], "vast")
    client = client_in(team["developer"], team["workspace"])
    assert "README.md" in client.get(files_url(deployment), HTTP_HX_REQUEST="true").content.decode()
    ssh.rotate_host_key(sandbox.clouds["vast"], deployment.instance_id)
    response = client.get(files_url(deployment), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "host key" in html and "changed" in html and "README.md" not in html
    assert client.get(files_url(deployment, "download/", "README.md")).status_code == 502


def test_a_deployment_launched_before_the_key_says_so(team, sandbox, connected, client_in):  # noqa: F811
    deployment = running(team["workspace"], team["admin"], "runpod")  # only the operator's key installed
    workspace_key_generate(workspace=connected, user=team["admin"])
    html = client_in(team["developer"], team["workspace"]).get(files_url(deployment), HTTP_HX_REQUEST="true").content.decode()
    assert "SSH refused our key" in html and "before the workspace key existed" in html


def test_an_unreachable_instance_is_a_message_not_a_500(team, sandbox, keyed, client_in, settings):
    deployment = running(team["workspace"], team["admin"], "runpod")
    ssh.close_for(sandbox.clouds["runpod"], sandbox.clouds["runpod"].instances[deployment.instance_id])
    settings.COMPUTEHUB_SSH_TIMEOUT_S = 2
    response = client_in(team["developer"], team["workspace"]).get(files_url(deployment), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Could not connect to 127.0.0.1" in response.content.decode()


def test_other_workspace_cannot_reach_remote_files(team, other_team, sandbox, keyed, client_in):
    deployment = running(team["workspace"], team["admin"], "runpod")
    client = client_in(other_team["admin"], other_team["workspace"])
    assert client.get(files_url(deployment)).status_code == 404
    assert client.get(files_url(deployment, "download/", "README.md")).status_code == 404
