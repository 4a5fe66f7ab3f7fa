"""SchoolID settings. Everything comes from the environment, with safe defaults.

Two modes:
- embedded (default): SQLite under var/, local-memory cache, in-process jobs, on-disk outbox.
- production (SCHOOLID_MODE=production): secret key and allowed hosts required, HTTPS-only cookies.
"""
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from schoolid.core.profiles import load_profile

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("SCHOOLID_VAR_DIR") or Path.cwd() / "var").resolve()  # empty counts as unset


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


MODE = os.environ.get("SCHOOLID_MODE", "embedded").strip().lower()
if MODE not in {"embedded", "production"}:
    raise ImproperlyConfigured("SCHOOLID_MODE must be 'embedded' or 'production'")
PRODUCTION = MODE == "production"
DEBUG = env_bool("SCHOOLID_DEBUG", False) and not PRODUCTION


def _secret_key() -> str:
    key = os.environ.get("SCHOOLID_SECRET_KEY", "")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SCHOOLID_SECRET_KEY is required when SCHOOLID_MODE=production")
    # Embedded default: generate once into var/ and keep it private.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

if PRODUCTION and not os.environ.get("SCHOOLID_ALLOWED_HOSTS"):
    raise ImproperlyConfigured("SCHOOLID_ALLOWED_HOSTS is required when SCHOOLID_MODE=production")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("SCHOOLID_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()]

# The canonical address used in every link we send; never taken from the Host header.
BASE_URL = os.environ.get("SCHOOLID_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Country profile (ir, il, pl, bd, ru): data, see schoolid/core/profiles/*.toml.
PROFILE_CODE = os.environ.get("SCHOOLID_PROFILE", "ir").strip().lower()
SCHOOLID_PROFILE = load_profile(PROFILE_CODE)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "schoolid.core",
    "schoolid.audit",
    "schoolid.directory",
    "schoolid.accounts",
    "schoolid.credentials",
    "schoolid.flows",
    "schoolid.families",
    "schoolid.console",
    "schoolid.notify",
    "schoolid.provisioning",
    "schoolid.federation",
    "schoolid.demo",
]

MIDDLEWARE = [
    "schoolid.core.metrics.MetricsMiddleware",
    "schoolid.core.middleware.UnavailableMiddleware",
    "schoolid.core.middleware.RequestIdMiddleware",
    "schoolid.core.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "schoolid.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "schoolid.accounts.middleware.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "schoolid.core.middleware.LocalDigitsMiddleware",
]

ROOT_URLCONF = "schoolid.urls"
WSGI_APPLICATION = "schoolid.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "schoolid.core.context_processors.schoolid",
            ],
            # |digits, |ldate and |ldatetime in every template (core/numerals.py).
            "builtins": ["schoolid.core.templatetags.numerals"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("SCHOOLID_DB_CONN_MAX_AGE", 60))}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # A database host that does not answer fails a request (and /api/v1/ready) within this, never hangs it.
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("SCHOOLID_DB_CONNECT_TIMEOUT", 5)
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("SCHOOLID_DB_SERVER_SIDE_BINDING", True):
        # Parameters travel apart from the SQL text (psycopg's server-side binding) instead of being
        # quoted into it in Python: about 70 µs less CPU per query with parameters (sign-in runs
        # three), and psycopg prepares statements that repeat. Behind a pooler in transaction mode,
        # set SCHOOLID_DB_SERVER_SIDE_BINDING=0 (prepared statements are per server connection).
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "schoolid.sqlite3"}}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers run beside the writer; IMMEDIATE avoids lock upgrades failing mid-transaction.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions ---------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if PRODUCTION and not REDIS_URL:
    # Production runs several workers and hosts: what one keeps in its memory (sessions, issued
    # results, Celery's queue) would be missing in the others. The limits' counters are in the
    # database either way (core/counters.py).
    raise ImproperlyConfigured("REDIS_URL is required when SCHOOLID_MODE=production: a cache shared by every worker and host")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "schoolid.core.cache.SchoolRedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "schoolid",
                          # A Redis that does not answer is an error within seconds, not a request that hangs.
                          "OPTIONS": {"socket_connect_timeout": env_int("SCHOOLID_REDIS_CONNECT_TIMEOUT", 2),
                                      "socket_timeout": env_int("SCHOOLID_REDIS_TIMEOUT", 5)}}}
    # Sessions live in Redis with the other shared state: a sign-in writes no session row to the
    # database, and every app host sees every session.
    SESSION_ENGINE = os.environ.get("SCHOOLID_SESSION_ENGINE", "schoolid.accounts.session_cache")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "schoolid"}}
    SESSION_ENGINE = "schoolid.accounts.session_db"

HTTPS = env_bool("SCHOOLID_HTTPS", PRODUCTION)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# The __Host- prefix pins the cookie to this host and path /; browsers accept it only with Secure.
SESSION_COOKIE_NAME = "__Host-sid" if HTTPS else "sid"
CSRF_COOKIE_NAME = "__Host-csrf" if HTTPS else "csrf"
LANGUAGE_COOKIE_NAME = "lang"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("SCHOOLID_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SESSION_IDLE_SECONDS = env_int("SCHOOLID_SESSION_IDLE_SECONDS", 3600)
SESSION_ABSOLUTE_SECONDS = env_int("SCHOOLID_SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_SAVE_EVERY_REQUEST = False

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_HSTS_SECONDS = env_int("SCHOOLID_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = env_bool("SCHOOLID_SSL_REDIRECT", False)
    if env_bool("SCHOOLID_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Accounts and passwords -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = ["schoolid.accounts.backends.AccountBackend"]
LOGIN_URL = "signin"
LOGIN_REDIRECT_URL = "account"
PASSWORD_HASHERS = ["schoolid.accounts.hashers.SchoolArgon2Hasher"]
# Argon2id parameters (OWASP minimum profile: m=19 MiB, t=2, p=1).
ARGON2_MEMORY_KIB = env_int("SCHOOLID_ARGON2_MEMORY_KIB", 19 * 1024)
ARGON2_TIME_COST = env_int("SCHOOLID_ARGON2_TIME_COST", 2)
ARGON2_PARALLELISM = env_int("SCHOOLID_ARGON2_PARALLELISM", 1)
# New passwords hashed at the same time by one server process (its other threads wait; see accounts/hashers.py).
# `schoolid serve` runs one process per core, so 1 keeps every core busy without two hashes sharing one.
ARGON2_CONCURRENCY = env_int("SCHOOLID_ARGON2_CONCURRENCY", 1)

# Sign-in throttling, per account (security requirements §2). Failures beyond the free ones wait
# base * 2^(n - free - 1) seconds, capped; at the lock limit the password stops working until recovery.
LOGIN_FREE_ATTEMPTS = env_int("SCHOOLID_LOGIN_FREE_ATTEMPTS", 5)
LOGIN_DELAY_BASE_SECONDS = env_int("SCHOOLID_LOGIN_DELAY_BASE_SECONDS", 30)
LOGIN_DELAY_CAP_SECONDS = env_int("SCHOOLID_LOGIN_DELAY_CAP_SECONDS", 3600)
LOGIN_LOCK_LIMIT = min(env_int("SCHOOLID_LOGIN_LOCK_LIMIT", 50), 100)
# Password spraying: failures from one client address across all accounts within a window.
LOGIN_IP_FAILURE_LIMIT = env_int("SCHOOLID_LOGIN_IP_FAILURE_LIMIT", 100)
LOGIN_IP_WINDOW_SECONDS = env_int("SCHOOLID_LOGIN_IP_WINDOW_SECONDS", 600)

# --- Notifications (outbox) ----------------------------------------------------------------
# E-mail: real SMTP when EMAIL_HOST is set; otherwise (embedded default) files under var/outbox/email.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "SchoolID <no-reply@schoolid.invalid>")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox" / "email"
# SMS: the HTTP JSON gateway when SMS_GATEWAY_URL is set; otherwise files under var/outbox/sms.
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
SMS_GATEWAY_TIMEOUT = env_int("SMS_GATEWAY_TIMEOUT", 10)
SMS_DRIVER = os.environ.get("SMS_DRIVER", "http-json" if SMS_GATEWAY_URL else "file")
OUTBOX_MAX_ATTEMPTS = env_int("SCHOOLID_OUTBOX_MAX_ATTEMPTS", 8)
# Wrong recovery codes allowed in one recovery flow, whatever the account's state.
RECOVERY_CODE_TRIES = env_int("SCHOOLID_RECOVERY_CODE_TRIES", 5)
# E-mailed links (activation, recovery): lifetime in seconds, capped at 24 hours.
LINK_TOKEN_SECONDS = env_int("SCHOOLID_LINK_TOKEN_SECONDS", 3600)
# Codes and links sent: at most this many per identifier and per number within the window (per address: 4x).
SMS_SEND_LIMIT = env_int("SCHOOLID_SMS_SEND_LIMIT", 5)
SMS_SEND_WINDOW_SECONDS = env_int("SCHOOLID_SMS_SEND_WINDOW_SECONDS", 3600)
OUTBOX_RETRY_BASE_SECONDS = env_int("SCHOOLID_OUTBOX_RETRY_BASE_SECONDS", 30)
# /dev/outbox shows sent messages in the embedded demo; never in production.
SCHOOLID_DEV_OUTBOX = env_bool("SCHOOLID_DEV_OUTBOX", not PRODUCTION)

# Jobs: in-process in the embedded default; Celery workers on Redis in production.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("SCHOOLID_EAGER_JOBS", not PRODUCTION)
CELERY_TASK_IGNORE_RESULT = True
# In-process jobs deliver e-mail and SMS on a background thread, after the answer (see notify.services).
DELIVER_AFTER_RESPONSE = env_bool("SCHOOLID_DELIVER_AFTER_RESPONSE", True)
# Starting a self-service flow (SMS sign-in, recovery, activation, registration codes) answers no
# sooner than this, so a known identifier's extra work (a code, a link, a message) does not show in
# the time taken (ASVS v5 6.3.8; FP-CS). 0 turns it off.
FLOW_ANSWER_SECONDS = max(0.0, float(os.environ.get("SCHOOLID_FLOW_ANSWER_SECONDS", "") or 0.25))
CELERY_BEAT_SCHEDULE = {"deliver-due-outbox": {"task": "schoolid.notify.deliver_due", "schedule": 60.0}}

# --- Operations ----------------------------------------------------------------------------
# /metrics answers only these client addresses or networks (REMOTE_ADDR; behind a proxy, the proxy
# must refuse /metrics from outside: deploy/nginx.conf does).
SCHOOLID_METRICS_ALLOWED = [a.strip() for a in os.environ.get("SCHOOLID_METRICS_ALLOWED", "127.0.0.1,::1").split(",") if a.strip()]

# --- Provisioning from the school register (OneRoster CSV) -----------------------------------
# The data set `schoolid sync` and the periodic sync read: a folder or a zip file the register drops.
SCHOOLID_SYNC_SOURCE = os.environ.get("SCHOOLID_SYNC_SOURCE", "")
if not SCHOOLID_SYNC_SOURCE and not PRODUCTION and PROFILE_CODE == "pl" and (VAR_DIR / "demo-register" / "manifest.csv").exists():
    SCHOOLID_SYNC_SOURCE = str(VAR_DIR / "demo-register")  # the Polish demo's register (demo/register.py)
SCHOOLID_SYNC_INTERVAL_MINUTES = env_int("SCHOOLID_SYNC_INTERVAL_MINUTES", 60)
# A person missing from a bulk file keeps their roles this long, then loses them; the account is
# disabled after the second period (both counted from the first import that missed them).
SCHOOLID_SYNC_GRACE_DAYS = env_int("SCHOOLID_SYNC_GRACE_DAYS", 14)
SCHOOLID_SYNC_DISABLE_DAYS = env_int("SCHOOLID_SYNC_DISABLE_DAYS", 90)
# userIds types that carry the national ID when userMasterIdentifier is empty ("{PESEL:...}").
SCHOOLID_ONEROSTER_ID_TYPES = [t.strip() for t in os.environ.get(
    "SCHOOLID_ONEROSTER_ID_TYPES", "nationalId,national_id,PESEL,SNILS,TZ,NID,codeMelli").split(",") if t.strip()]
SCHOOLID_IMPORT_MAX_BYTES = env_int("SCHOOLID_IMPORT_MAX_BYTES", 4 * 1024**3)
# PostgreSQL bulk-load mode for imports (skips per-row foreign-key triggers; needs the privilege to set
# session_replication_role, else the import simply runs them).
SCHOOLID_IMPORT_SKIP_ROW_TRIGGERS = env_bool("SCHOOLID_IMPORT_SKIP_ROW_TRIGGERS", True)
SCHOOLID_SYNC_LOCK_SECONDS = env_int("SCHOOLID_SYNC_LOCK_SECONDS", 2 * 3600)
# The unit (by code) under which OneRoster orgs without a parent are placed; default: the country's
# one top-level unit (made, as "ROOT", when the register has none).
SCHOOLID_ONEROSTER_ROOT = os.environ.get("SCHOOLID_ONEROSTER_ROOT", "").strip()
SCHOOLID_IMPORT_MAX_STORED_PROBLEMS = env_int("SCHOOLID_IMPORT_MAX_STORED_PROBLEMS", 100000)
SCHOOLID_REPORT_DIR = Path(os.environ.get("SCHOOLID_REPORT_DIR", VAR_DIR / "reports"))
if PRODUCTION and SCHOOLID_SYNC_SOURCE:
    CELERY_BEAT_SCHEDULE["sync-register"] = {"task": "schoolid.provisioning.sync", "schedule": SCHOOLID_SYNC_INTERVAL_MINUTES * 60.0}

# --- Languages ------------------------------------------------------------------------------
LANGUAGES = [
    ("fa", "فارسی"),
    ("he", "עברית"),
    ("pl", "Polski"),
    ("bn", "বাংলা"),
    ("ru", "Русский"),
    ("en", "English"),
]
LANGUAGE_CODE = SCHOOLID_PROFILE.default_language
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Date formats where the country's own forms differ from Django's (before Django's own).
FORMAT_MODULE_PATH = ["schoolid.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = SCHOOLID_PROFILE.time_zone

# Key for fields encrypted at rest (TOTP seeds); defaults to a key derived from SECRET_KEY.
SCHOOLID_FIELD_KEY = os.environ.get("SCHOOLID_FIELD_KEY", "")

STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
try:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:  # a read-only deployment serves collected files from elsewhere
    pass
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Logging: JSON lines carrying the request id ---------------------------------------------
LOG_LEVEL = os.environ.get("SCHOOLID_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "schoolid.core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "schoolid.core.logging.JsonFormatter"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
    },
}

# --- Privacy duties (subject access, retention, erasure; docs/privacy.md) ----------------------
INSTALLED_APPS += ["schoolid.privacy"]  # noqa: F405 - the top floor: reads every app, writes through their verbs
# Key of the keyed hash that keeps an erased person's national ID recognisable without the number,
# and of their audit pseudonym. Default: derived from the secret key. Changing it forgets who was erased.
SCHOOLID_PRIVACY_KEY = os.environ.get("SCHOOLID_PRIVACY_KEY", "")
SCHOOLID_PRIVACY_BATCH_SIZE = env_int("SCHOOLID_PRIVACY_BATCH_SIZE", 1000)
SCHOOLID_EXPORTS_PER_HOUR = env_int("SCHOOLID_EXPORTS_PER_HOUR", 10)  # subject access downloads per requester
SCHOOLID_RETENTION_INTERVAL_HOURS = env_int("SCHOOLID_RETENTION_INTERVAL_HOURS", 24)
# Later categories of the subject access export: {"name": "app.module.function(person, account)"}.
SCHOOLID_SUBJECT_ACCESS_SECTIONS: dict[str, str] = {}
# --- OpenID Provider (schoolid.provider, docs/provider.md) ---------------------------------------
INSTALLED_APPS += ["schoolid.provider"]  # noqa: F405 - the top floor, beside console and provisioning
# The issuer: the base URL or a path under it (e.g. https://id.example/oidc); discovery is served at its root.
SCHOOLID_OIDC_ISSUER = os.environ.get("SCHOOLID_OIDC_ISSUER", "").rstrip("/")
# Key of the pairwise subject HMAC (default: derived from the secret key). Changing it changes every pairwise `sub`.
SCHOOLID_SUBJECT_KEY = os.environ.get("SCHOOLID_SUBJECT_KEY", "")
CELERY_BEAT_SCHEDULE["oidc-logout-deliveries"] = {"task": "schoolid.provider.deliver_due_logouts", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["privacy-retention"] = {"task": "schoolid.privacy.retain", "schedule": SCHOOLID_RETENTION_INTERVAL_HOURS * 3600.0}
# Beat entries `schoolid serve` runs itself in the embedded default (no Celery beat there).
SCHOOLID_EMBEDDED_JOBS = [j.strip() for j in os.environ.get("SCHOOLID_EMBEDDED_JOBS", "privacy-retention,oidc-logout-deliveries").split(",") if j.strip()]
# National sign-in (issue 16): provider `acr` values that count as the staff's second factor (comma-separated).
FEDERATION_STRONG_ACR = tuple(a.strip() for a in os.environ.get("SCHOOLID_FEDERATION_STRONG_ACR", "").split(",") if a.strip())
