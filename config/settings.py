"""Settings for the Crypto Oversight Portal: one module, driven by environment variables.

With no environment at all this is the *embedded default*: a SQLite file under
the project, DEBUG on, Celery tasks run inline. ``DATABASE_URL`` and
``CELERY_BROKER_URL`` switch to PostgreSQL and Redis (docker-compose, tests).
"""

from pathlib import Path

import environ
import orjson
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "embedded-default-insecure-key-for-local-use-only"  # noqa: S105

# The reverse proxy's addresses (IPs or CIDRs; docker-compose: Caddy's fixed address). Only a request
# from one of them may say who the client is (X-Forwarded-For) and that it came over HTTPS
# (X-Forwarded-Proto); config.middleware.TrustedProxyMiddleware drops those headers from anyone else.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # The audit log: after axes (its receivers run after axes's own), before every app that writes to it.
    "auditlog",
    "operators",
    "filings",
    "outflows",
    # Counterparty screening against sanctions lists (issue 19): above outflows, below audits.
    "screening",
    "audits",
    # Case work (issue 18): referral packages, messages and data requests; above audits, below api.
    "casework",
    "api",
    # Webhooks for agencies (issue 19): above the API, whose tokens and access they use.
    "webhooks",
]

MIDDLEWARE = [
    # First: the client's address and scheme, believed only from TRUSTED_PROXIES.
    "config.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.RussianFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "operators.middleware.SccTwoFactorMiddleware",
    "config.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # NUL, control characters or non-UTF-8 bytes in a parameter: a 400 (with the headers above), not a 500.
    "config.middleware.RefuseControlCharactersMiddleware",
    "auditlog.middleware.RefusalAuditMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "operators.context_processors.roles",
                "audits.context_processors.notifications",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# Persistent connections with health checks: without them API throughput falls
# to a third, and without the checks a PostgreSQL restart turns the next
# request of every worker into a 500.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite (embedded default only): wait rather than fail when the inline
    # Celery task and a request write at once.
    # WAL: readers are not blocked by the writer, so the upload form's progress requests (and
    # every other page) are answered while an inline dry run or import holds its transaction.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL"}
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, locks) ------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses logins while an account or address is locked out
    "operators.backends.AccessPermissionBackend",  # passwords as ModelBackend; rights from Access
]
# Login throttling: 5 failures for one user name from one address lock it for an hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # lockouts are written to the audit log; no banner on every command
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0)
# Auditors and supervisors must confirm a TOTP code (django-otp) after the password.
# On by default in production; off in the embedded demo so a newcomer can look around.
OTP_REQUIRED_FOR_SCC = env.bool("OTP_REQUIRED_FOR_SCC", default=not DEBUG)
OTP_TOTP_ISSUER = "КГК / SCC Crypto Oversight Portal"
# Sessions end after 30 minutes without a request (the cookie is renewed on each one).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18n: Russian first, English beside it, Belarusian welcome ---------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Русский")), ("en", _("English")), ("be", _("Беларуская"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Minsk"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploads above this size are refused before they are read (bytes; default 256 MB).
FILING_MAX_UPLOAD_BYTES = env.int("FILING_MAX_UPLOAD_BYTES", default=256 * 1024 * 1024)
# The operator registry (a few hundred rows) is refused above this, in the admin and by import_operators.
REGISTRY_MAX_UPLOAD_BYTES = env.int("REGISTRY_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Bounded reading of a filing (issue 14): an XLSX is refused by what it declares and by what
# it turns out to hold, long before it can take a worker's memory or an hour of its CPU.
FILING_XLSX_MAX_UNCOMPRESSED_BYTES = env.int("FILING_XLSX_MAX_UNCOMPRESSED_BYTES", default=1024 * 1024 * 1024)
FILING_XLSX_MAX_SHARED_STRINGS_BYTES = env.int("FILING_XLSX_MAX_SHARED_STRINGS_BYTES", default=256 * 1024 * 1024)
FILING_XLSX_MAX_COMPRESSION_RATIO = env.int("FILING_XLSX_MAX_COMPRESSION_RATIO", default=200)  # per zip member
FILING_XLSX_MAX_SHARED_STRINGS = env.int("FILING_XLSX_MAX_SHARED_STRINGS", default=3_000_000)
FILING_XLSX_MAX_ROWS = env.int("FILING_XLSX_MAX_ROWS", default=1_048_576)  # Excel's own limit
FILING_XLSX_MAX_COLUMNS = env.int("FILING_XLSX_MAX_COLUMNS", default=64)  # the formats have 9-15
FILING_XLSX_MAX_CELLS = env.int("FILING_XLSX_MAX_CELLS", default=12_000_000)
# Each filing may take this long to read and validate (a base plus a share per MB), then it is
# rejected with `file_time_budget_exceeded`; a dry run also stays under gunicorn's 120 s timeout.
FILING_TIME_BUDGET_BASE_SECONDS = env.float("FILING_TIME_BUDGET_BASE_SECONDS", default=60)
FILING_TIME_BUDGET_SECONDS_PER_MB = env.float("FILING_TIME_BUDGET_SECONDS_PER_MB", default=10)
FILING_TIME_BUDGET_MAX_SECONDS = env.float("FILING_TIME_BUDGET_MAX_SECONDS", default=40 * 60)
FILING_DRY_RUN_MAX_SECONDS = env.float("FILING_DRY_RUN_MAX_SECONDS", default=90)
# A dry run waits this long for an import of the same operator, then answers `operator_busy`.
FILING_DRY_RUN_LOCK_WAIT_SECONDS = env.float("FILING_DRY_RUN_LOCK_WAIT_SECONDS", default=5)
# A dry run keeps its file this long (for its user and operator only), to be filed without choosing it again.
FILING_KEPT_UPLOAD_SECONDS = env.int("FILING_KEPT_UPLOAD_SECONDS", default=3600)

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Embedded default: no broker, tasks run inline in the web process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged only when it has finished ...
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ... and goes back to the queue if its worker dies
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Our consumer: a lost connection to Redis never ends the worker (config/celery_consumer.py).
CELERY_WORKER_CONSUMER = "config.celery_consumer:Consumer"
# A worker child whose resident memory passes this (KiB) is replaced after its task; the
# bounded intake keeps a task far below it, so this only catches a slow leak.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=1_536_000)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=50 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_IGNORE_RESULT = True  # status lives on our own models, not in a result backend ...
# ... except for the partitions of a fanned-out outflow run: the chord that merges them
# collects their results in the broker's Redis, for an hour at most.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL) or None
CELERY_RESULT_EXPIRES = 3600
# Redis hands an unacknowledged message out again once the visibility timeout has passed,
# even while its task is still running. So it must exceed the hard time limit (plus the
# longest countdown, a minute): then a task is delivered once, however long it legitimately
# runs. A whole worker's death is not recovered by this timeout (over an hour) but by the
# work leases below. kombu sweeps the unacked set every 10 s.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 10 * 60)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT + 60:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT by over a minute.")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
# Work leases (filings/leases.py): a filing's import or an outflow run renews its lease
# every WORK_LEASE_RENEW_SECONDS from a heartbeat thread; the lease lapses
# WORK_LEASE_SECONDS after the last renewal (a dead worker: at most a minute), and the
# sweepers (every minute) re-send work whose lease lapsed, or that was never leased
# WORK_RESEND_AFTER_SECONDS after it was sent (its message was lost). So a killed worker's
# filing is imported again within about two minutes, and a running one is never sent twice.
WORK_LEASE_SECONDS = env.int("WORK_LEASE_SECONDS", default=60)
WORK_LEASE_RENEW_SECONDS = env.float("WORK_LEASE_RENEW_SECONDS", default=10)
WORK_RESEND_AFTER_SECONDS = env.int("WORK_RESEND_AFTER_SECONDS", default=90)
# A filing or run whose worker died this many times (e.g. killed for memory) is given up.
WORK_MAX_ATTEMPTS = env.int("WORK_MAX_ATTEMPTS", default=3)
if WORK_LEASE_RENEW_SECONDS * 3 > WORK_LEASE_SECONDS:
    raise ImproperlyConfigured("WORK_LEASE_SECONDS must be at least three renewals long.")
CELERY_TIMEZONE = TIME_ZONE
# Partitions of the nightly and the debounced outflow runs: above 1, a run fans out as a
# Celery chord, one partition task per worker slot (outflows.tasks). 1 on one machine:
# every partition scans the whole table in PostgreSQL, and two cores gain nothing.
OUTFLOW_PARTITIONS = env.int("OUTFLOW_PARTITIONS", default=1)
# The transfer reader of outflow runs (outflows/readers/): "copy", the hand-written binary COPY
# client (PostgreSQL; elsewhere the ORM reader is used); "orm" turns it off; "adbc" where
# adbc-driver-postgresql and pyarrow are installed. Figures: bench/README_outflows.md.
OUTFLOW_READER = env.str("OUTFLOW_READER", default="copy")
# Issue 17: the runs also read amount and asset and compute the variants and cross-tabs (outflows.variants).
OUTFLOW_VARIANTS = env.bool("OUTFLOW_VARIANTS", default=True)
# An outflow computation reuses the memory of the arrays it frees (outflows/memory.py, glibc's mallopt).
OUTFLOW_REUSE_MEMORY = env.bool("OUTFLOW_REUSE_MEMORY", default=True)

# --- REST framework ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # orjson (api/renderers.py). The row lists (api/rows.py) hand it datetimes, which it writes
    # as DRF's DateTimeField does with OPT_UTC_Z ("Z" for +00:00); keys that are not strings
    # are written as strings, as json does.
    "DEFAULT_RENDERER_CLASSES": [
        "api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "ORJSON_RENDERER_OPTIONS": [orjson.OPT_UTC_Z, orjson.OPT_NON_STR_KEYS],
    # Per API token, counted in the shared cache (api/throttling.py).
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_THROTTLE_RATE", default="1200/min")},
}
# Failed token authentications per client address before its token requests are refused (429)
# for the rest of the window: keys cannot be tried without limit (api/throttling.py).
API_AUTH_FAILURE_RATE = env.str("API_AUTH_FAILURE_RATE", default="30/min")
# Shortcuts through private internals of Django, DRF, psycopg and django-redis, each kept only for a
# measured gain (bench/README_api.md, "Private-internals shortcuts, measured") and each with its
# standard path beside it: False runs Django's / DRF's own way. API_FAST_PATHS_OFF=a,b turns some off.
_FAST_PATHS_OFF = set(env.list("API_FAST_PATHS_OFF", default=[]))
API_FAST_PATHS = {
    name: name not in _FAST_PATHS_OFF
    for name in ("token_lookup", "sql_rows", "cached_querysets", "c_timestamptz_loader")
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crypto Oversight Portal API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the agencies wherever they appear (a flag's referred_to, a referral package's agency).
    # FilingStatus: read by /filings/ and /outflows/runs/{id}/filings/ alike, one name for both.
    "ENUM_NAME_OVERRIDES": {
        "AgencyEnum": "audits.models.Agency.choices",
        "FilingStatusEnum": "operators.models.FilingStatus.choices",
    },
}

# --- Content-Security-Policy: nothing inline, nothing from elsewhere (closed network) ---
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Domain -----------------------------------------------------------------------
REPORTING_START = env.str("REPORTING_START", default="2025-01-01")

# --- Audit log anchored outside the database (audits/checkpoints.py) ------------------
# Signed checkpoints of the chain's head; keep this directory off the database host.
AUDIT_CHECKPOINT_DIR = env.path("AUDIT_CHECKPOINT_DIR", default=BASE_DIR / "var" / "audit-checkpoints")
# HMAC-SHA256 key; unset, one is derived from SECRET_KEY with a salt of its own.
AUDIT_CHECKPOINT_KEY = env.str("AUDIT_CHECKPOINT_KEY", default="")
# The login role the application connects as in production: the audits migration 0006 grants
# it the tables but not UPDATE, DELETE or TRUNCATE on the audit log (when the role exists).
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="portal_app")

# --- Security (production settings: DEBUG off) -----------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes from inside the network speak plain HTTP
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@portal.example.by")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- django-import-export ------------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True  # a registry file is imported whole or not at all
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True  # spreadsheet formula injection
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"  # only who may add operators (supervisors) may import
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# Webhooks (webhooks/services.py): a failed delivery is tried again after base x 2^(n-1) seconds
# (capped at an hour), up to the maximum number of attempts; each POST waits at most the timeout.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=2.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=12)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
