"""The file browser of a Local deployment: lists and downloads inside the working directory only.
`../`, absolute paths and symlinks that lead out are refused (403), missing paths 404; a remote
deployment that cannot be browsed says why (test_files_sftp.py covers the SFTP browser)."""

import os

import pytest

from deployments import files
from deployments.tests.factories import DeploymentFactory
from providers.models import ProviderKind
from providers.services import credential_adapter, workspace_connect_defaults

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_deployment(team, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.COMPUTEHUB_LOCAL_PROVIDER = True
    settings.COMPUTEHUB_SANDBOX_URL = ""
    credential = next(c for c in workspace_connect_defaults(workspace=team["workspace"]) if c.provider == ProviderKind.LOCAL)
    deployment = DeploymentFactory(workspace=team["workspace"], credential=credential, name="notebook")
    deployment.instance_id = deployment.tag
    deployment.save(update_fields=["instance_id"])
    root = credential_adapter(credential).work_dir(deployment.instance_id)
    (root / "models").mkdir(parents=True)
    (root / "models" / "weights.bin").write_bytes(b"\x00\x01weights")
    (root / "notes.txt").write_text("hello from the work folder\n")
    secret = tmp_path / "outside.txt"
    secret.write_text("server secret")
    os.symlink(secret, root / "escape.txt")
    os.symlink(tmp_path, root / "escape-dir")
    os.symlink(root / "notes.txt", root / "inside-link.txt")
    return deployment


def url(d, suffix="", path=None):
    base = f"/deployments/{d.pk}/files/{suffix}"
    return base if path is None else f"{base}?path={path}"


def test_lists_the_root_and_a_subfolder_without_links_that_lead_out(team, local_deployment, client_in):
    client = client_in(team["viewer"], team["workspace"])
    html = client.get(url(local_deployment), HTTP_HX_REQUEST="true").content.decode()
    assert "notes.txt" in html and "models/" in html and "inside-link.txt" in html
    assert "escape.txt" not in html and "escape-dir" not in html
    sub = client.get(url(local_deployment, path="models"), HTTP_HX_REQUEST="true").content.decode()
    assert "weights.bin" in sub and "notes.txt" not in sub


def test_downloads_a_file_inside_the_root(team, local_deployment, client_in):
    response = client_in(team["viewer"], team["workspace"]).get(url(local_deployment, "download/", "models/weights.bin"))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\x00\x01weights"
    assert 'filename="weights.bin"' in response["Content-Disposition"]


@pytest.mark.parametrize("path", ["../state.json", "..%2F..%2F..", "/etc/passwd", "models/../../env.json", "escape.txt", "escape-dir/outside.txt"])
def test_refuses_paths_outside_the_root(team, local_deployment, client_in, path):
    client = client_in(team["developer"], team["workspace"])
    download = client.get(url(local_deployment, "download/", path))
    listing = client.get(url(local_deployment, path=path))
    assert download.status_code == 403 and listing.status_code in (403, 404)
    assert b"server secret" not in download.content and b"server secret" not in listing.content


def test_missing_paths_and_folders_as_files_are_404(team, local_deployment, client_in):
    client = client_in(team["developer"], team["workspace"])
    assert client.get(url(local_deployment, "download/", "nope.txt")).status_code == 404
    assert client.get(url(local_deployment, "download/", "models")).status_code == 404
    assert client.get(url(local_deployment, path="notes.txt")).status_code == 404


def test_large_files_are_refused(team, local_deployment, client_in, monkeypatch):
    monkeypatch.setattr(files.common, "MAX_DOWNLOAD_BYTES", 4)
    assert client_in(team["developer"], team["workspace"]).get(url(local_deployment, "download/", "notes.txt")).status_code == 403


def test_other_workspace_gets_404(other_team, local_deployment, client_in):
    client = client_in(other_team["admin"], other_team["workspace"])
    assert client.get(url(local_deployment, "download/", "notes.txt")).status_code == 404


def test_remote_deployment_without_workspace_key_says_why_and_where(team, client_in):
    remote = DeploymentFactory(workspace=team["workspace"], instance_id="pod-1", status="running",
                               ssh_host="127.0.0.1", ssh_port=2222, ssh_user="root")
    client = client_in(team["developer"], team["workspace"])
    assert client.get(url(remote)).status_code == 404
    html = client.get(f"/deployments/{remote.pk}/").content.decode()
    assert "needs the workspace&#x27;s SSH key" in html and 'href="/workspace/ssh-keys/"' in html


def test_remote_deployment_that_is_not_running_has_no_browser(team, client_in):
    stopped = DeploymentFactory(workspace=team["workspace"], instance_id="pod-2", status="stopped")
    html = client_in(team["developer"], team["workspace"]).get(f"/deployments/{stopped.pk}/").content.decode()
    assert "while the deployment is running" in html and 'id="file-browser"' not in html


def test_detail_page_loads_the_browser_for_local(team, local_deployment, client_in):
    html = client_in(team["developer"], team["workspace"]).get(f"/deployments/{local_deployment.pk}/").content.decode()
    assert 'id="file-browser"' in html and f'hx-get="/deployments/{local_deployment.pk}/files/"' in html


def test_resolve_inside_unit(tmp_path):
    root = tmp_path.resolve()
    (root / "a").mkdir()
    assert files.resolve_inside(root, "a") == root / "a"
    assert files.resolve_inside(root, "") == root
    for bad in ("..", "a/../..", "/tmp", "a\\..\\..", "x\x00y"):
        with pytest.raises(files.OutsideRoot):
            files.resolve_inside(root, bad)
