"""Settings of a chaos process: the test settings (encryption keys, fast hashers), an in-process
cache (the DB cache would add a write per lane call), and the automation timings left as they
ship except where noted. The database is a throwaway SQLite file named by BENCH_CHAOS_DB."""

import os

from computehub.test_settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_CHAOS_DB"],
                         "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;",
                                     "transaction_mode": "IMMEDIATE", "timeout": 20}}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "chaos"}}
COMPUTEHUB_SANDBOX_URL = "http://sandbox.chaos.invalid"
COMPUTEHUB_LOCAL_PROVIDER = False
Q_CLUSTER = {**Q_CLUSTER, "sync": False, "log_level": "ERROR"}  # noqa: F405  (queued tasks are never run: the driver sweeps)
COMPUTEHUB_SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yY29tcHV0ZWh1YnRlc3RzMDE= chaos"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "CRITICAL", "handlers": []}}
