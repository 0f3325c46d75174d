"""The throwaway database and the production processes the bench runs against it:
`manage.py autopilot` (health checker loop, rules/operations lanes, reconciler sweep; no log
collection) and `manage.py qcluster` (the worker that runs the reconcile queued after every
action), exactly as the Procfile starts them, with their output in files for a post-mortem."""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent.parent
SETTINGS = "bench.reaction_support.settings"


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def _admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def database_url(tmp: Path) -> tuple[str, str | None]:
    """(url, created PostgreSQL database name or None). With DATABASE_URL pointing at PostgreSQL,
    a fresh database next to it (named after it) is created, so nothing else there is probed."""
    given = os.environ.get("DATABASE_URL", "")
    if not _is_postgres(given):
        return f"sqlite:///{tmp / 'bench.sqlite3'}", None
    name = f"{urlsplit(given).path.lstrip('/') or 'chub'}_reaction_{secrets.token_hex(3)}"
    _admin(given, f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(given)._replace(path=f"/{name}")), name


def drop_database(name: str | None) -> None:
    if name:
        _admin(os.environ["DATABASE_URL"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Processes:
    """The autopilot and (unless `worker` is off) the qcluster worker, as subprocesses."""

    def __init__(self, tmp: Path, worker: bool = True, tuned: bool = False):
        self.tmp, self.worker, self.tuned, self.procs = tmp, worker, tuned, []

    def start(self) -> None:
        autopilot = ["-m", "bench.reaction_support.tuned"] if self.tuned else ["manage.py", "autopilot", "--no-collect"]
        commands = [("autopilot", autopilot)]
        if self.worker:
            commands.append(("qcluster", ["manage.py", "qcluster"]))
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONUNBUFFERED": "1"}
        for name, args in commands:
            log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 (closed in stop)
            proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            self.procs.append((name, proc, log))

    def check_alive(self) -> None:
        for name, proc, _ in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.tail(name)}")

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # qcluster's worker processes too
        for _, proc, log in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
