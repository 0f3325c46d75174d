"""This machine as a provider (reference/providers.md, DESIGN.md §4): one free offer built from
psutil and NVML, and deployments run as real processes.

Each instance lives in ``VAR_DIR/local/<namespace>/<tag>/`` (its id is the tag), where the
namespace comes from the credential's key fingerprint: every Local credential gets its own random
key (providers.services), so two workspaces never list, stop or adopt each other's processes.
Files: ``state.json`` (argv, cwd,
pid, flags), ``env.json`` (0600: the spec's env may hold tokens and is needed to start again),
``output.log`` (one ``<ISO time>\\t<line>`` per line) and ``exit_code``. Any process (web,
worker, after a restart) reads the same files. A tiny wrapper runs the command in its own
process group, stamps each output line and records the exit code, so a stop kills the group.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil
from django.conf import settings

from providers.adapters.base import (AuthError, Capabilities, Instance, InstanceStatus, LogLine, MetricPoint,
                                     NotFound, Offer, ProviderAdapter)
from providers.adapters.registry import register

from providers.adapters.local_machine import GIB, gpu_metrics, machine_offer

# Runs as `python -c WRAPPER <log> <exit_code file> argv...`: stamps lines, records the exit code.
WRAPPER = r"""
import os, subprocess, sys
from datetime import datetime, timezone
log_path, code_path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(log_path, "a", buffering=1, encoding="utf-8") as log:
    stamp = lambda text: log.write(datetime.now(timezone.utc).isoformat() + "\t" + text.rstrip("\n") + "\n")
    try:
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    except OSError as exc:
        stamp(f"could not start {argv[0]!r}: {exc}")
        code = 127
    else:
        for line in child.stdout:
            stamp(line)
        code = child.wait()
with open(code_path + ".tmp", "w") as out:
    out.write(str(code))
os.replace(code_path + ".tmp", code_path)
sys.exit(code)
"""
_children: dict[int, subprocess.Popen] = {}  # wrappers this process started, polled so they get reaped


def _root() -> Path:
    return Path(settings.VAR_DIR) / "local"


def _dir(namespace: Path, instance_id: str) -> Path:
    if not instance_id.startswith("ch-") or "/" in instance_id or ".." in instance_id:
        raise NotFound(f"not a local instance id: {instance_id!r}")
    return namespace / instance_id


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict, mode: int = 0o644) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    os.replace(tmp, path)  # readers in other processes never see half a file


def _free_port(candidates) -> int:
    for port in [*candidates, 0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise OSError("no free port")


def _base_env() -> dict[str, str]:
    """Only what a program needs to run: the worker's own environment holds ComputeHub's secrets."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
    return {name: os.environ[name] for name in keep if name in os.environ} | {"PYTHONUNBUFFERED": "1"}


# --- process group handling ----------------------------------------------------------------------


def _alive(state: dict) -> bool:
    """The wrapper still runs (and is the same process: pids are reused)."""
    popen = _children.get(state.get("pid"))
    if popen is not None and popen.poll() is not None:
        _children.pop(state["pid"], None)
    try:
        proc = psutil.Process(state["pid"])
        return proc.create_time() == state["started"] and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, TypeError):
        return False


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return members


def _kill_group(pgid: int, grace_s: float) -> None:
    """SIGTERM the whole group, SIGKILL what is left after the grace period."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for popen in list(_children.values()):
                popen.poll()
            if not _group_members(pgid):
                return
            time.sleep(0.05)


def _launch(folder: Path, state: dict) -> dict:
    env = _read_json(folder / "env.json") or {}
    (folder / "exit_code").unlink(missing_ok=True)
    argv = [sys.executable, "-c", WRAPPER, str(folder / "output.log"), str(folder / "exit_code"), *state["argv"]]
    popen = subprocess.Popen(argv, cwd=folder / "work", env=env, start_new_session=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _children[popen.pid] = popen
    started = psutil.Process(popen.pid).create_time()
    return state | {"pid": popen.pid, "pgid": popen.pid, "started": started, "stopped": False,
                    "launched_at": datetime.now(timezone.utc).isoformat()}


# --- the adapter ---------------------------------------------------------------------------------


@register
class LocalAdapter(ProviderAdapter):
    kind = "local"
    display_name = "This machine"
    default_base_url = "local://this-machine"
    capabilities = Capabilities(provider="This machine", stop_start=True, restart=True, logs=True, metrics=True,
                                notes={"ssh_info": "runs on this machine; open a terminal here",
                                       "spot": "This machine has no spot pricing; it is free"})
    grace_s = 5.0  # SIGTERM → SIGKILL

    def __init__(self, api_key: str = "", **kwargs):
        # The key authorizes nothing (the machine is yours); it only names this credential's folder.
        super().__init__(api_key, **kwargs)

    @property
    def _namespace(self) -> Path:
        if not self._api_key:  # a row from before namespaces: refuse rather than share one folder
            raise AuthError("This machine's credential has no key; disconnect it and let the server recreate it.")
        return _root() / self._fingerprint  # hex of a keyed hash: a safe folder name that is not the key

    def _folder(self, instance_id: str) -> Path:
        return _dir(self._namespace, instance_id)

    def work_dir(self, instance_id: str) -> Path:
        """The command's working directory: the root of the deployment's file browser."""
        return self._folder(instance_id) / "work"

    def log_path(self, instance_id: str) -> Path:
        """The output file (``<ISO time>\\t<line>`` per line, appended across restarts), which the
        log collector tails by byte offset for sub-second latency."""
        return self._folder(instance_id) / "output.log"

    async def validate_credential(self) -> None:
        return None

    async def list_offers(self) -> list[Offer]:
        return [await asyncio.to_thread(machine_offer)]

    async def create_instance(self, spec) -> Instance:
        self.require("spot") if spec.spot else None
        return await asyncio.to_thread(self._create, spec)

    def _create(self, spec) -> Instance:
        folder = self._folder(spec.tag)
        state = _read_json(folder / "state.json")
        if state and not state.get("terminated"):
            return self._instance(folder)  # adopt: a retried create must not start a second copy
        (folder / "work").mkdir(parents=True, exist_ok=True)
        port = _free_port(spec.ports)
        argv = list(spec.command) or [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        _write_json(folder / "env.json", _base_env() | dict(spec.env) | {"PORT": str(port)}, mode=0o600)
        # The port asked for may be taken; the one the process got is what its port maps to.
        asked = spec.ports[0] if spec.ports else port
        state = {"instance_id": spec.tag, "tag": spec.tag, "name": spec.name, "argv": argv, "port": port,
                 "container_port": asked, "created_at": datetime.now(timezone.utc).isoformat()}
        _write_json(folder / "state.json", _launch(folder, state))
        return self._instance(folder)

    async def get_instance(self, instance_id: str) -> Instance:
        return await asyncio.to_thread(self._instance, self._folder(instance_id))

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        namespace = self._namespace

        def scan():  # only this credential's folder: other workspaces' processes stay invisible
            folders = sorted(p.parent for p in namespace.glob("ch-*/state.json"))
            return [self._instance(f) for f in folders if tag is None or f.name == tag]
        return await asyncio.to_thread(scan)

    def _state(self, folder: Path) -> dict:
        state = _read_json(folder / "state.json")
        if state is None:
            raise NotFound(f"no local instance {folder.name}")
        return state

    def _instance(self, folder: Path) -> Instance:
        state = self._state(folder)
        status, raw = self._status(folder, state)
        return Instance(instance_id=state["instance_id"], tag=state["tag"], status=status, raw_status=raw,
                        public_ip="127.0.0.1", ports={state.get("container_port", state["port"]): state["port"]},
                        price_per_hour=0.0,
                        created_at=datetime.fromisoformat(state["created_at"]), raw=state)

    def _status(self, folder: Path, state: dict) -> tuple[InstanceStatus, str]:
        if state.get("terminated"):
            return InstanceStatus.TERMINATED, "terminated"
        if _alive(state):
            return InstanceStatus.RUNNING, f"running pid {state['pid']}"
        if state.get("stopped"):
            return InstanceStatus.STOPPED, "stopped"
        code = (folder / "exit_code").read_text().strip() if (folder / "exit_code").exists() else None
        if code == "0":
            return InstanceStatus.TERMINATED, "exited 0"
        return InstanceStatus.FAILED, f"exited {code}" if code is not None else "vanished"

    async def stop(self, instance_id: str) -> None:
        await asyncio.to_thread(self._stop, self._folder(instance_id))

    def _stop(self, folder: Path) -> dict:
        state = self._state(folder)
        if _alive(state) or _group_members(state["pgid"]):
            _kill_group(state["pgid"], self.grace_s)
        state = state | {"stopped": True}
        _write_json(folder / "state.json", state)
        return state

    async def start(self, instance_id: str) -> None:
        await asyncio.to_thread(self._start, self._folder(instance_id))

    def _start(self, folder: Path) -> None:
        state = self._state(folder)
        if state.get("terminated"):
            raise NotFound(f"local instance {folder.name} was terminated")
        if not _alive(state):
            _write_json(folder / "state.json", _launch(folder, state))

    async def restart(self, instance_id: str) -> None:
        folder = self._folder(instance_id)
        await asyncio.to_thread(self._stop, folder)
        await asyncio.to_thread(self._start, folder)

    async def terminate(self, instance_id: str) -> None:
        # In a thread: killing the group waits up to grace_s and the files are disk I/O, neither
        # of which may block the event loop the reconciler shares with other deployments.
        await asyncio.to_thread(self._terminate, self._folder(instance_id))

    def _terminate(self, folder: Path) -> None:
        if not (folder / "state.json").exists():
            return  # never created or already cleaned up
        state = self._stop(folder)
        _write_json(folder / "state.json", state | {"terminated": True})
        (folder / "env.json").unlink(missing_ok=True)  # tokens do not outlive the instance

    async def fetch_logs(self, instance_id: str, since: datetime | None = None) -> list[LogLine]:
        return await asyncio.to_thread(self._logs, self._folder(instance_id), since)

    def _logs(self, folder: Path, since: datetime | None) -> list[LogLine]:
        self._state(folder)
        try:
            text = (folder / "output.log").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        lines = [_log_line(raw) for raw in text.splitlines()]
        return [line for line in lines if since is None or (line.at is not None and line.at > since)]

    async def fetch_metrics(self, instance_id: str) -> list[MetricPoint]:
        return await asyncio.to_thread(self._metrics, self._folder(instance_id))

    def _metrics(self, folder: Path) -> list[MetricPoint]:
        state, at = self._state(folder), datetime.now(timezone.utc)
        if not _alive(state):
            return []
        return _process_metrics(state["pid"], at) + gpu_metrics(at)


def _log_line(raw: str) -> LogLine:
    stamp, tab, text = raw.partition("\t")
    try:
        return LogLine(text=text, at=datetime.fromisoformat(stamp)) if tab else LogLine(text=raw)
    except ValueError:
        return LogLine(text=raw)


def _process_metrics(pid: int, at: datetime) -> list[MetricPoint]:
    """CPU and memory of the whole tree (wrapper, command and whatever it spawned)."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    for proc in tree:
        _quiet(proc.cpu_percent, None)  # first call primes the counter
    time.sleep(0.2)
    cpu = sum(_quiet(proc.cpu_percent, None) or 0.0 for proc in tree)
    rss = sum(_rss(proc) for proc in tree)
    return [MetricPoint("cpu_percent", round(cpu, 1), at), MetricPoint("memory_used_gb", round(rss / GIB, 4), at)]


def _rss(proc: psutil.Process) -> int:
    info = _quiet(proc.memory_info)
    return info.rss if info is not None else 0


def _quiet(call, *args):
    try:
        return call(*args)
    except psutil.Error:
        return None
