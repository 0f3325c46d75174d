"""The Local adapter with real processes in a temporary VAR_DIR."""

import asyncio
import contextlib
import os
import signal
import socket
import sys
import textwrap
import threading
import uuid
from datetime import datetime, timezone

import psutil
import pytest

from providers.adapters import local, local_machine
from providers.adapters.base import AuthError, InstanceSpec, InstanceStatus, NotFound, NotSupported
from providers.adapters.local import LocalAdapter

KEY = "local-" + "a" * 32  # what providers.services gives every Local credential (random there)


@pytest.fixture
async def adapter(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(LocalAdapter, "grace_s", 1.0)
    adapter = LocalAdapter(KEY)
    yield adapter
    for instance in await adapter.list_instances():  # nothing outlives the test
        await adapter.terminate(instance.instance_id)
    for pid in list(local._children):  # even if the state files vanished (a concurrent pytest prunes tmp dirs)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        local._children.pop(pid).wait()


def spec(*argv, env=None, ports=()):
    return InstanceSpec(deployment_id=uuid.uuid4(), name="t", offer_id="local", image="", command=tuple(argv),
                        env=env or {}, ports=ports)


# Prints its PORT, starts a child that starts a grandchild, and records all pids.
FAMILY = textwrap.dedent("""
    import os, subprocess, sys, time
    print("port", os.environ["PORT"], "secret", os.environ.get("SECRET"), flush=True)
    if len(sys.argv) < 3:
        subprocess.Popen([sys.executable, sys.argv[0], sys.argv[1], "child"])
    elif sys.argv[2] == "child":
        subprocess.Popen([sys.executable, sys.argv[0], sys.argv[1], "grandchild"])
    with open(os.path.join(sys.argv[1], f"{os.getpid()}.pid"), "w"): pass
    while True: time.sleep(0.1)
""")


async def wait_until(check, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        result = check()
        result = await result if asyncio.iscoroutine(result) else result
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true")


def family(tmp_path):
    script, pids = tmp_path / "family.py", tmp_path / "pids"
    script.write_text(FAMILY)
    pids.mkdir(exist_ok=True)
    return [sys.executable, str(script), str(pids)], pids


def instance_dir(adapter, instance_id):
    return local._root() / adapter._fingerprint / instance_id


def pids_in(folder):
    return [int(p.stem) for p in folder.glob("*.pid")]


def test_offer_reflects_this_machine(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(local_machine, "nvml_gpus", lambda: [])
    offer = local_machine.machine_offer()
    assert offer.vcpus == psutil.cpu_count(logical=True) and offer.price_per_hour == 0.0
    assert offer.ram_gb == round(psutil.virtual_memory().total / 1024**3, 1)
    assert abs(offer.disk_gb - psutil.disk_usage(str(tmp_path)).free / 1024**3) < 1.0
    assert offer.gpu_count == 0 and offer.gpu_name_raw == "CPU only" and offer.gpu_model is None


def test_offer_with_nvidia_gpus(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(local_machine, "nvml_gpus", lambda: [{"index": i, "name": "NVIDIA H200", "vram_gb": 140.0}
                                                     for i in range(2)])
    offer = local_machine.machine_offer()
    assert (offer.gpu_count, offer.gpu_model, offer.vram_gb_per_gpu) == (2, "h200-sxm", 140.0)


def test_nvml_absence_is_normal():
    assert isinstance(local_machine.nvml_gpus(), list)  # never raises, GPU or not
    assert all(p.gpu_index is not None for p in local_machine.gpu_metrics(datetime.now(timezone.utc)))


async def test_capabilities_match_and_ssh_is_explained(adapter):
    await adapter.validate_credential()
    with pytest.raises(NotSupported, match="runs on this machine; open a terminal here"):
        await adapter.ssh_info("ch-x")


async def test_process_logs_metrics_and_group_kill(adapter, tmp_path):
    argv, pids = family(tmp_path)
    with socket.socket() as busy, socket.socket() as free:
        busy.bind(("127.0.0.1", 0)), busy.listen()
        free.bind(("127.0.0.1", 0))
        ports = (busy.getsockname()[1], free.getsockname()[1])
    busy_again = socket.socket()
    busy_again.bind(("127.0.0.1", ports[0]))  # still taken while the instance picks its port
    the_spec = spec(*argv, env={"SECRET": "s3"}, ports=ports)
    with busy_again:
        created = await adapter.create_instance(the_spec)
    assert created.raw["port"] == ports[1]
    assert created.status == InstanceStatus.RUNNING and created.tag == the_spec.tag
    await wait_until(lambda: len(pids_in(pids)) == 3)
    family_pids = pids_in(pids)
    logs = await wait_until(lambda: adapter.fetch_logs(created.instance_id))
    assert logs[0].text.startswith(f"port {created.raw['port']} secret s3") and logs[0].at is not None
    assert await adapter.fetch_logs(created.instance_id, since=logs[-1].at) == []
    names = {m.name for m in await adapter.fetch_metrics(created.instance_id)}
    assert {"cpu_percent", "memory_used_gb"} <= names
    memory = next(m for m in await adapter.fetch_metrics(created.instance_id) if m.name == "memory_used_gb")
    assert memory.value > 0.01  # four Python processes, not one

    fresh = LocalAdapter(KEY)  # another process with the same credential reads the same files
    assert (await fresh.get_instance(created.instance_id)).status == InstanceStatus.RUNNING
    assert [i.instance_id for i in await fresh.list_instances(tag=the_spec.tag)] == [created.instance_id]
    await fresh.stop(created.instance_id)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in family_pids)
    assert (await adapter.get_instance(created.instance_id)).status == InstanceStatus.STOPPED


async def test_start_restart_terminate(adapter, tmp_path):
    argv, pids = family(tmp_path)
    created = await adapter.create_instance(spec(*argv))
    assert await adapter.create_instance(spec(*argv)) != created  # another deployment, another instance
    await adapter.terminate(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status == InstanceStatus.TERMINATED
    with pytest.raises(NotFound, match="terminated"):
        await adapter.start(created.instance_id)

    other = (await adapter.list_instances())
    running = [i for i in other if i.status == InstanceStatus.RUNNING][0]
    first_pid = running.raw["pid"]
    await adapter.stop(running.instance_id)
    await adapter.start(running.instance_id)
    again = await adapter.get_instance(running.instance_id)
    assert again.status == InstanceStatus.RUNNING and again.raw["pid"] != first_pid
    await adapter.restart(running.instance_id)
    restarted = await adapter.get_instance(running.instance_id)
    assert restarted.status == InstanceStatus.RUNNING and restarted.raw["pid"] != again.raw["pid"]
    assert not psutil.pid_exists(again.raw["pid"]) or psutil.Process(again.raw["pid"]).status() == psutil.STATUS_ZOMBIE
    await adapter.terminate(running.instance_id)
    assert not os.path.exists(instance_dir(adapter, running.instance_id) / "env.json")


async def test_create_is_idempotent_per_tag(adapter, tmp_path):
    argv, _ = family(tmp_path)
    the_spec = spec(*argv)
    first = await adapter.create_instance(the_spec)
    second = await adapter.create_instance(the_spec)
    assert first.raw["pid"] == second.raw["pid"]


async def test_crash_reports_failed_and_clean_exit_terminated(adapter):
    crashed = await adapter.create_instance(spec(sys.executable, "-c", "print('boom'); raise SystemExit(3)"))
    status = await wait_until(lambda: _status_if_done(adapter, crashed.instance_id))
    assert status.status == InstanceStatus.FAILED and status.raw_status == "exited 3"
    assert [line.text for line in await adapter.fetch_logs(crashed.instance_id)] == ["boom"]
    clean = await adapter.create_instance(spec(sys.executable, "-c", "pass"))
    assert (await wait_until(lambda: _status_if_done(adapter, clean.instance_id))).status == InstanceStatus.TERMINATED
    missing = await adapter.create_instance(spec("/nonexistent/binary"))
    assert (await wait_until(lambda: _status_if_done(adapter, missing.instance_id))).raw_status == "exited 127"


async def _status_if_done(adapter, instance_id):
    instance = await adapter.get_instance(instance_id)
    return instance if instance.status != InstanceStatus.RUNNING else None


async def test_default_command_serves_http_on_loopback(adapter):
    import httpx
    created = await adapter.create_instance(spec())
    port = created.raw["port"]

    async def answers():
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{port}/")).status_code == 200
        except httpx.HTTPError:
            return False
    assert await wait_until(answers)
    env = local._read_json(instance_dir(adapter, created.instance_id) / "env.json")
    assert env["PORT"] == str(port) and "DJANGO_SETTINGS_MODULE" not in env


async def test_instances_are_namespaced_per_credential_key(adapter, tmp_path):
    """Two workspaces' Local credentials have different keys: neither sees nor controls the other's processes."""
    other = LocalAdapter("local-" + "b" * 32)
    created = await adapter.create_instance(spec(sys.executable, "-c", "import time; time.sleep(60)"))
    assert instance_dir(adapter, created.instance_id).is_dir()
    assert [i.instance_id for i in await adapter.list_instances()] == [created.instance_id]
    assert await other.list_instances() == [] and await other.list_instances(tag=created.tag) == []
    with pytest.raises(NotFound):
        await other.get_instance(created.instance_id)
    with pytest.raises(NotFound):
        await other.stop(created.instance_id)
    await other.terminate(created.instance_id)  # unknown there: nothing happens here
    assert (await adapter.get_instance(created.instance_id)).status == InstanceStatus.RUNNING


async def test_a_credential_without_a_key_is_refused_rather_than_shared(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with pytest.raises(AuthError, match="no key"):
        await LocalAdapter("").list_instances()


async def test_terminate_does_its_file_io_off_the_event_loop(adapter, monkeypatch):
    created = await adapter.create_instance(spec(sys.executable, "-c", "import time; time.sleep(60)"))
    write, writers = local._write_json, []

    def recording_write(*args, **kwargs):
        writers.append(threading.get_ident())
        return write(*args, **kwargs)
    monkeypatch.setattr(local, "_write_json", recording_write)
    await adapter.terminate(created.instance_id)
    assert writers and threading.get_ident() not in writers  # the loop's thread never touched the files
