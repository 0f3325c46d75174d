"""The Local provider end to end with a real process: create → running (process alive, port
answers) → stop (process group gone) → start → delete."""

import os
import sys
import time
import urllib.request

import psutil
import pytest

from deployments.models import Status
from deployments.services import deployment_action, deployment_create
from deployments.tests.test_lifecycle_sandbox import drive, status_is
from providers.adapters import adapter_class
from providers.models import ProviderCredential
from providers.services import workspace_connect_defaults


@pytest.fixture
def local(team, settings, tmp_path, monkeypatch):
    settings.COMPUTEHUB_LOCAL_PROVIDER = True
    settings.COMPUTEHUB_SANDBOX_URL = ""
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(adapter_class("local"), "grace_s", 1.0)
    workspace_connect_defaults(workspace=team["workspace"])
    return ProviderCredential.objects.get(workspace=team["workspace"], provider="local")


def _answers(port) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _wait(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _group_alive(pgid) -> bool:
    return any(_pgid(p) == pgid for p in psutil.process_iter())


def _pgid(proc):
    try:
        return os.getpgid(proc.pid) if proc.status() != psutil.STATUS_ZOMBIE else None
    except (psutil.Error, ProcessLookupError):
        return None


def test_local_deployment_runs_a_real_process_through_its_lifecycle(local, team):
    user = team["developer"]
    deployment = deployment_create(
        workspace=team["workspace"], user=user, credential=local, offer_id="local", name="web", image="python:3.12-slim",
        # The adapter picks a free port (18765 if it can) and passes it as $PORT.
        command=["sh", "-c", f"exec {sys.executable} -m http.server $PORT --bind 127.0.0.1"], ports=[18765], disk_gb=1,
        secret_env={"TOKEN": "s3cret"})
    try:
        drive(deployment, status_is(Status.RUNNING))
        port = int(next(iter(deployment.port_map.values())))
        pid = int(deployment.raw_status.split()[-1])
        assert psutil.pid_exists(pid) and _wait(lambda: _answers(port))

        deployment_action(deployment=deployment, action="stop", user=user)
        drive(deployment, status_is(Status.STOPPED))
        assert _wait(lambda: not _group_alive(pid)) and not _answers(port)

        deployment_action(deployment=deployment, action="start", user=user)
        drive(deployment, status_is(Status.RUNNING))
        new_pid = int(deployment.raw_status.split()[-1])
        assert new_pid != pid and _wait(lambda: _answers(port))
    finally:
        deployment_action(deployment=deployment, action="delete", user=user)
        drive(deployment, status_is(Status.TERMINATED))
    assert _wait(lambda: not _group_alive(new_pid)) and not _answers(port)
    assert deployment.terminated_at is not None


def _models_listed(port) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1) as response:
            return response.status == 200 and b'"object": "list"' in response.read().replace(b'":"', b'": "')
    except OSError:
        return False


def test_the_vllm_preset_runs_on_a_bare_machine(local, team):
    """What a new `make run` user does first: the preset's stand-in serves the OpenAI API on
    this machine even though neither vLLM nor `python` on PATH is guaranteed."""
    from deployments.models import DeploymentTemplate
    from deployments.services import deployment_create_from_offer
    from pricing.services import refresh_offers

    refresh_offers(workspace=team["workspace"])
    offer = local.offers.get()
    preset = DeploymentTemplate.objects.get(is_preset=True, slug__startswith="vllm")
    deployment = deployment_create_from_offer(workspace=team["workspace"], user=team["developer"], offer=offer,
                                              template=preset, disk_gb=preset.disk_gb)
    try:
        drive(deployment, status_is(Status.RUNNING))
        port = int(next(iter(deployment.port_map.values())))
        assert _wait(lambda: _models_listed(port)), deployment.last_error
    finally:
        deployment_action(deployment=deployment, action="delete", user=team["developer"])
        drive(deployment, status_is(Status.TERMINATED))
