"""Test settings: the real settings, with only what makes a suite fast and hermetic changed.

The database, cache and channel layer stay real (SQLite or PostgreSQL, DB cache or Redis,
database relay or channels-redis) so tests exercise what users run.
"""

import os

from computehub.settings import *  # noqa: F403
from computehub.settings import DATABASES, Q_CLUSTER, STORAGES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# The test client speaks plain HTTP; test_deploy_settings checks production keeps the redirect.
SECURE_SSL_REDIRECT = False
# Pages render `{% static %}` without a collectstatic manifest; the live server serves app dirs.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
COMPUTEHUB_ENCRYPTION_KEYS = os.environ.get(
    "COMPUTEHUB_ENCRYPTION_KEYS", "test1:" + "dGVzdC1rZXktMzItYnl0ZXMtZm9yLWNvbXB1dGVodWI="
)

# A file, not :memory:, so tests can start real daphne / qcluster processes on the same data.
# One per pytest process, so parallel runs on one machine do not clobber each other.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
COMPUTEHUB_FINGERPRINT_KEY = os.environ.get("COMPUTEHUB_FINGERPRINT_KEY", "Zmluz2VycHJpbnQta2V5LTMyLWJ5dGVzLWNvbXB1dGVo")
# A fixed gateway for connect tests; tests against sandbox clouds on random loopback ports set
# COMPUTEHUB_SANDBOX_URL to that sandbox (the allowlist compares ports exactly).
COMPUTEHUB_ALLOWED_PROVIDER_URLS = ["http://127.0.0.1:9/"]
# Notification tests deliver to loopback receivers; the SSRF tests turn this off per test.
COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = True
