"""Real daphne and qcluster processes on the pytest test database, for end-to-end tests.

Use the `live_stack` fixture (exported by the root conftest) in a test marked
`@pytest.mark.processes`. It needs committed data, so it brings `transactional_db` with it, and
while it runs, tasks the test enqueues go to the real cluster instead of running in-process.
Every wait fails with both processes' output in its message, so a red test says why.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from computehub.tests.api_helpers import signed_in

BASE_DIR = Path(settings.BASE_DIR)
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


def database_url_for_processes() -> str:
    """DATABASE_URL of the database pytest created, for processes started by a test."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"  # four slashes: an absolute path
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}/{db['NAME']}"


def process_env() -> dict:
    """The real settings (not test_settings), on the test database, sharing the test's secrets."""
    # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; the servers must keep the check.
    dropped = ("REDIS_URL", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DJANGO_SETTINGS_MODULE="computehub.settings",
        DATABASE_URL=database_url_for_processes(),
        DEBUG="1",  # plain HTTP: no SSL redirect, no manifest static storage
        Q_SYNC="0",
        SECRET_KEY=settings.SECRET_KEY,  # so sessions and signed links made by the test are valid
        COMPUTEHUB_ENCRYPTION_KEYS=settings.COMPUTEHUB_ENCRYPTION_KEYS,
        COMPUTEHUB_FINGERPRINT_KEY=getattr(settings, "COMPUTEHUB_FINGERPRINT_KEY", ""),
        PYTHONUNBUFFERED="1",
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def session_cookie(user, workspace=None) -> str:
    """A logged-in session (switcher on `workspace` if given), as a Cookie header value."""
    client = signed_in(Client(), user, workspace)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveStack:
    port: int
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, name: str, *args: str) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(
            args, cwd=BASE_DIR, env=process_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()  # the child keeps its own copy of the descriptor

    def output(self) -> str:
        parts = []
        for name in self.processes:
            text = (self.log_dir / f"{name}.log").read_text(errors="replace")
            parts.append(f"----- {name} (exit code {self.processes[name].poll()}) -----\n{text[-20000:]}")
        return "\n".join(parts)

    def wait_for(self, condition, what: str, timeout: float = START_TIMEOUT_S) -> None:
        """Poll `condition` until true; fail with both processes' output if it is not, or one dies."""
        deadline = time.monotonic() + timeout
        while not condition():
            dead = [name for name, proc in self.processes.items() if proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                reason = f"{', '.join(dead)} exited" if dead else f"no {what} after {timeout}s"
                pytest.fail(f"Live stack: {reason}\n{self.output()}", pytrace=False)
            time.sleep(0.05)

    def log_contains(self, name: str, text: str) -> bool:
        return text in (self.log_dir / f"{name}.log").read_text(errors="replace")

    def http_ok(self, path: str = "/healthz") -> bool:
        try:
            with urllib.request.urlopen(self.http_url + path, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM each leader, which stops its own children (qcluster's workers: a SIGTERM to all
        of them at once stalls its shutdown), then SIGKILL whatever is left of each group."""
        for proc in self.processes.values():
            proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT_S)
            _signal_group(proc, signal.SIGKILL)  # orphaned workers, if the parent left any


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


@contextmanager
def running_stack(log_dir: Path):
    """daphne on a free port and one qcluster, both ready, stopped on exit whatever happens."""
    stack = LiveStack(port=free_port(), log_dir=log_dir)
    try:
        stack.start("daphne", str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(stack.port),
                    "computehub.asgi:application")  # fmt: skip
        stack.start("qcluster", sys.executable, "manage.py", "qcluster")
        stack.wait_for(stack.http_ok, "HTTP answer from daphne")
        stack.wait_for(lambda: stack.log_contains("qcluster", "running."), "'running.' line from qcluster")
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def live_stack(transactional_db, tmp_path, monkeypatch):
    """The stack on the test database; tasks enqueued by the test run in its qcluster."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)  # test_settings runs tasks in-process otherwise
    with running_stack(tmp_path) as stack:
        yield stack
