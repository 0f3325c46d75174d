"""ComputeHub settings: one module, every deploy-time difference comes from the environment.

Unset variables give a working single-machine setup (SQLite under var/, no Redis).
See README.md "Configuration" for the full table.
"""

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("COMPUTEHUB_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _local_secret_key() -> str:
    """A key generated once and kept in var/, so sessions survive restarts of a local run."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
REDIS_URL = env.str("REDIS_URL", default="")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "django_q",
    "computehub",
    "accounts",
    "providers",
    "pricing",
    "deployments",
    "automation",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentWorkspaceMiddleware",
]

ROOT_URLCONF = "computehub.urls"
ASGI_APPLICATION = "computehub.asgi.application"
WSGI_APPLICATION = "computehub.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.workspace",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
SQLITE_OPTIONS = {
    # WAL lets the web and worker processes read while the other writes; IMMEDIATE takes the
    # write lock at BEGIN so two writers queue on `timeout` instead of failing mid-transaction.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# --- Cache (shared across processes: allauth's login rate limits live here) ------------------
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "computehub_cache"}}

# --- Channels (live streams) -----------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "computehub.channel_layer.DatabaseChannelLayer"}}

# --- django-q2 (background work) -------------------------------------------------------------
Q_CLUSTER = {
    "name": "computehub",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 120,
    "retry": 180,  # must exceed timeout, or a slow task runs twice
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 500,
    "sync": env.bool("Q_SYNC", default=False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Accounts (django-allauth) ---------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[ComputeHub] "
ACCOUNT_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Email ---------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ComputeHub <noreply@computehub.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["computehub.api.permissions.WorkspaceRolePermission"],
    "DEFAULT_PARSER_CLASSES": ["computehub.api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "computehub.api.pagination.Pagination",
    "EXCEPTION_HANDLER": "computehub.api.errors.exception_handler",
    # Scopes used by views that set `throttle_scope` (ScopedRateThrottle); other views are unthrottled.
    "DEFAULT_THROTTLE_RATES": {"refresh": "10/min"},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
SPECTACULAR_SETTINGS = {
    "TITLE": "ComputeHub API",
    "DESCRIPTION": "Compare GPU offers across clouds, deploy, and automate. "
    "Authenticate with `Authorization: Bearer <token>`; a token acts in one workspace.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "accounts.models.Role.choices"},
}

# --- Providers -------------------------------------------------------------------------------
# Root URL of the sandbox clouds (`python -m providers.sandbox`); when set, every new workspace
# gets a clearly labelled "Sandbox" account per provider. `make run` sets it.
COMPUTEHUB_SANDBOX_URL = env.str("COMPUTEHUB_SANDBOX_URL", default="")
# URL prefixes a credential may use instead of the provider's real API (self-hosted gateways);
# empty by default, so members cannot make this server call arbitrary addresses.
COMPUTEHUB_ALLOWED_PROVIDER_URLS = env.list("COMPUTEHUB_ALLOWED_PROVIDER_URLS", default=[])
# Lets workspaces run deployments as processes on this machine. Only for a machine you own:
# anyone with a Developer role could run commands here. `make run` turns it on.
COMPUTEHUB_LOCAL_PROVIDER = env.bool("COMPUTEHUB_LOCAL_PROVIDER", default=False)
# Provider calls in flight at once during an offer refresh (the 5-minute job spans every workspace).
COMPUTEHUB_REFRESH_CONCURRENCY = env.int("COMPUTEHUB_REFRESH_CONCURRENCY", default=16)
# Seconds between reconciler sweeps in `manage.py autopilot` (DESIGN.md §3.5 asks for ≤ 15).
# An operator's public key installed on every instance ComputeHub launches, besides each
# workspace's own key and its members' keys (Team → SSH keys). Empty: none.
COMPUTEHUB_SSH_PUBLIC_KEY = env.str("COMPUTEHUB_SSH_PUBLIC_KEY", default="")
# Seconds to connect and log in over SSH for the remote file browser before saying so on the page.
COMPUTEHUB_SSH_TIMEOUT_S = env.float("COMPUTEHUB_SSH_TIMEOUT_S", default=8.0)
COMPUTEHUB_RECONCILE_INTERVAL_S = min(env.float("COMPUTEHUB_RECONCILE_INTERVAL_S", default=10.0), 15.0)

# --- Secrets at rest -------------------------------------------------------------------------
COMPUTEHUB_ENCRYPTION_KEYS = env.str("COMPUTEHUB_ENCRYPTION_KEYS", default="")
# Keyed fingerprints of secrets ("is this key already connected?"); separate from the encryption
# keys so rotating those does not change every stored fingerprint.
COMPUTEHUB_FINGERPRINT_KEY = env.str("COMPUTEHUB_FINGERPRINT_KEY", default="")

# --- Static files, i18n ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request while it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security (production is DEBUG=False; `check --deploy --fail-level WARNING` passes) -------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "daphne": {"level": "WARNING"}, "asyncssh": {"level": "WARNING"}},
}

# --- Notifications (automation/notify, automation/netguard.py) ----------------------------------
# Where the Telegram Bot API answers; tests and `python -m automation.fakes.telegram` point it at
# a loopback fake. Any other value than the default goes through the SSRF guard.
COMPUTEHUB_TELEGRAM_API_URL = env.str("COMPUTEHUB_TELEGRAM_API_URL", default="https://api.telegram.org")
# Lets webhooks (and a non-default Telegram API) reach private, loopback and other internal
# addresses. Off in production: a user-supplied URL must not reach the server's own network.
COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = env.bool("COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE", default=False)

# --- Autopilot (automation/) ---------------------------------------------------------------------
# How often a deployment that stays down is reported again to the rules (so auto-restart and
# failover can act when a restart did not help).
COMPUTEHUB_STILL_DOWN_S = env.int("COMPUTEHUB_STILL_DOWN_S", default=180)
# Probes in flight at once in one health checker; enough to keep the 30 s cadence when thousands
# of endpoints hang until the 10 s timeout.
COMPUTEHUB_HEALTH_CONCURRENCY = env.int("COMPUTEHUB_HEALTH_CONCURRENCY", default=4000)
# A migration, failover or refill whose replacement is not healthy by then is rolled back.
COMPUTEHUB_MIGRATION_TIMEOUT_S = env.int("COMPUTEHUB_MIGRATION_TIMEOUT_S", default=900)
# A replacement without a health check counts as healthy after running this long.
COMPUTEHUB_REPLACEMENT_SETTLE_S = env.int("COMPUTEHUB_REPLACEMENT_SETTLE_S", default=60)
COMPUTEHUB_OPERATION_POLL_S = env.float("COMPUTEHUB_OPERATION_POLL_S", default=2.0)
