"""Settings of every process of the reaction benchmark (the bench itself, `manage.py autopilot`,
`manage.py qcluster`): the production settings (database from DATABASE_URL, the sandbox from
COMPUTEHUB_SANDBOX_URL) with only the automation timings below changed, each from an
environment variable the bench sets and reports."""

import os

from computehub.settings import *  # noqa: F403

# A deployment still down this long after a restart lets automation act again (ships as 180 s);
# shortened so a failover incident (restart, still down, fail over) fits in the run.
COMPUTEHUB_STILL_DOWN_S = int(os.environ.get("BENCH_REACTION_STILL_DOWN_S") or 10)
COMPUTEHUB_LOCAL_PROVIDER = False
COMPUTEHUB_SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yY29tcHV0ZWh1YnRlc3RzMDE= bench"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"level": "WARNING", "handlers": ["stderr"]},
}
