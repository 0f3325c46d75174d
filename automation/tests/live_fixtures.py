"""The live stack (real daphne + qcluster, computehub/tests/live_stack.py) plus a real
`manage.py autopilot`, with this machine as a provider and loopback webhooks allowed: what a user
running `make run` has, on the pytest database. For tests marked `@pytest.mark.processes`.

The Local provider starts each deployment in its own session (so a stop can kill the group), so
stopping the stack would leave them running: the fixture kills every group it finds recorded
under its own COMPUTEHUB_VAR_DIR once the processes are gone."""

import importlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from computehub.tests.live_stack import running_stack

AUTOPILOT_START_TIMEOUT_S = 30
POLL_S = 0.2


def local_state(var_dir: Path, instance_id: str) -> dict:
    """What the Local provider recorded about an instance: argv, port, and the `pid` / `pgid` of
    the wrapper that leads the instance's process group (the same pid as in `raw_status`)."""
    found = list((var_dir / "local").glob(f"*/{instance_id}/state.json"))
    assert len(found) == 1, f"expected one state.json for {instance_id}, found {found}"
    return json.loads(found[0].read_text())


def kill_local_instances(var_dir: Path) -> None:
    for state_file in (var_dir / "local").glob("*/*/state.json"):
        try:
            pgid = json.loads(state_file.read_text())["pgid"]
        except (OSError, ValueError, KeyError):
            continue
        for sig in (signal.SIGKILL, signal.SIGCONT):  # a stopped group dies on SIGKILL alone; CONT is harmless
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                break


def eventually(stack, condition, what: str, *, timeout: float, explain=lambda: "") -> None:
    """Poll `condition` until true; on timeout (or a stack process dying) fail with `explain()`
    (what the database says) and every process's output."""
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [name for name, proc in stack.processes.items() if proc.poll() is not None]
        if dead or time.monotonic() > deadline:
            reason = f"{', '.join(dead)} exited" if dead else f"no {what} within {timeout:g}s"
            pytest.fail(f"{reason}\n{explain()}\n{stack.output()}", pytrace=False)
        time.sleep(POLL_S)


def _restore_presets() -> None:
    from django.apps import apps

    importlib.import_module("deployments.migrations.0002_presets").add_presets(apps, None)


@pytest.fixture
def autopilot_stack(transactional_db, tmp_path, monkeypatch, settings):
    """daphne, qcluster and `manage.py autopilot` (all lanes: health checker, rules, operations,
    triggers, budgets, notifications, jobs) on the test database. The preset templates the
    migrations wrote are written again first: an earlier transactional test flushed them. The
    stack's `var_dir` is where the Local provider keeps its instances."""
    from django_q.conf import Conf

    _restore_presets()

    var_dir = tmp_path / "var"
    var_dir.mkdir()
    # The processes read these from the environment (live_stack passes it on).
    monkeypatch.setenv("COMPUTEHUB_VAR_DIR", str(var_dir))
    monkeypatch.setenv("COMPUTEHUB_LOCAL_PROVIDER", "1")
    monkeypatch.setenv("COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("COMPUTEHUB_RECONCILE_INTERVAL_S", "2")
    monkeypatch.delenv("COMPUTEHUB_SANDBOX_URL", raising=False)
    # And this process, which creates the workspace's providers and channels.
    settings.COMPUTEHUB_LOCAL_PROVIDER = True
    settings.COMPUTEHUB_SANDBOX_URL = ""
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = True
    monkeypatch.setattr(Conf, "SYNC", False)  # tasks the test enqueues go to the real qcluster
    try:
        with running_stack(tmp_path) as stack:
            stack.start("autopilot", sys.executable, "manage.py", "autopilot")
            stack.wait_for(lambda: stack.log_contains("autopilot", "autopilot: reconciling"),
                           "'autopilot: reconciling' line", timeout=AUTOPILOT_START_TIMEOUT_S)
            stack.var_dir = var_dir
            yield stack
    finally:
        kill_local_instances(var_dir)
