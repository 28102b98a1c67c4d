"""Settings for the whole monolith, read from the environment.

Nothing to configure for development: SQLite under var/, a filesystem Celery broker, mail
written to var/mail/. Production sets DEBUG=0 and real values (see .env.example).
"""

import base64
import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import dj_email_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-8f1c2e"  # noqa: S105 (DEBUG only)

SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", f"localhost,127.0.0.1,testserver,{urlsplit(SITE_URL).hostname}")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)

INSTALLED_APPS = [
    "hrmos",
    "candidates",
    "line_integration",
    "messaging",
    "customforms",
    "results",
    "events",
    "selection",
    "hrmos.admin_site.OperatorAdminConfig",  # django.contrib.admin, for platform operators only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "hrmos.axes_config.LoginThrottleConfig",  # django-axes, labelled in Japanese
]

MIDDLEWARE = [
    # Answers LINE webhook POSTs before the rest (sessions, CSRF, auth…) while
    # LINE_WEBHOOK_FAST_PATH is on: see line_integration/webhook/fast_path.py.
    "line_integration.webhook.fast_path.WebhookMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "hrmos.text.StorableInputMiddleware",  # NUL and lone surrogates out of parameters, names, cookies
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hrmos.login_required.LoginRequiredMiddleware",  # Django's, htmx-aware
    "hrmos.tenancy.CompanyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "hrmos.no_store.NoStoreForUsersMiddleware",  # personal data is never cached (static files are)
]

ROOT_URLCONF = "hrmos.urls"
WSGI_APPLICATION = "hrmos.wsgi.application"
# Wrapped around Django's WSGI handler by hrmos/wsgi.py, outermost last (named here, like
# MIDDLEWARE, so that hrmos imports no app): LINE webhook POSTs answered before Django's
# handler while LINE_WEBHOOK_FAST_PATH is on, see line_integration/webhook/fast_path.py.
WSGI_WRAPPERS = ["line_integration.webhook.fast_path.WebhookWSGI"]
AUTH_USER_MODEL = "hrmos.User"
AUTHENTICATION_BACKENDS = [
    "hrmos.login_throttle.LoginThrottleBackend",  # django-axes, plus a wait per username (all addresses)
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
                "csp.context_processors.nonce",
                "hrmos.context_processors.navigation",
            ],
        },
    },
]

# Database: SQLite file under var/ unless DATABASE_URL is set.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat write concurrently in development: WAL and a busy timeout.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Production images run collectstatic and set STATIC_MANIFEST=1 for hashed, compressed files.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# Uploaded attachments and LINE content: private, served only through recruiter views.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Email: EMAIL_URL (smtp://user:pass@host:587/?tls=True), or the usual EMAIL_* variables.
# In development with neither, each mail is written to a file under var/mail/.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "HRMOS採用 <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env_str("EMAIL_URL"):
    globals().update(dj_email_url.parse(env_str("EMAIL_URL")))
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
# Inbound email (messaging/inbound_email.py): replies to reply+<company public id>@INBOUND_EMAIL_DOMAIN,
# posted by the mail provider's inbound webhook or piped to `manage.py receive_email`.
INBOUND_EMAIL_SECRET = env_str("INBOUND_EMAIL_SECRET")  # empty: the endpoint is off (404)
INBOUND_EMAIL_DOMAIN = env_str("INBOUND_EMAIL_DOMAIN", urlsplit(SITE_URL).hostname or "localhost")

# Secrets at rest (channel secrets, cached tokens): Fernet keys, newest first.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG=0.")
    # Development only: a key derived from the dev SECRET_KEY so a fresh clone just works.
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]

# LINE platform hosts. All four point at the emulator in development and tests.
LINE_API_BASE = env_str("LINE_API_BASE", "https://api.line.me").rstrip("/")
LINE_API_DATA_BASE = env_str("LINE_API_DATA_BASE", "https://api-data.line.me").rstrip("/")
LINE_ACCESS_BASE = env_str("LINE_ACCESS_BASE", "https://access.line.me").rstrip("/")
LINE_WEB_BASE = env_str("LINE_WEB_BASE", "https://line.me").rstrip("/")  # the OA's add-friend link
# Pictures of the stickers candidates send (`make run`: the emulator, which draws them offline).
LINE_STICKER_BASE = env_str("LINE_STICKER_BASE", "https://stickershop.line-scdn.net").rstrip("/")
# (connect, read) seconds for LINE API calls; the SDK has no timeout of its own.
LINE_HTTP_TIMEOUT = (3.05, 10.0)
LINE_CONTENT_TIMEOUT = (3.05, 30.0)  # content downloads: the read timeout is per chunk, not per file
LINE_CONTENT_MAX_BYTES = 50 * 1024 * 1024  # candidates' images/files larger than this are not downloaded

# Celery: at-least-once delivery; every task is idempotent and takes ids only.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL) or "filesystem://"
# Seconds before Redis hands an unacknowledged task to another worker. It must outlast the
# longest time a live worker legitimately holds one (a countdown of up to 300 s, then a run of
# up to CELERY_TASK_TIME_LIMIT), or a live task would run twice. Nothing waits for it after a
# crash: the rows are the truth, and the sweepers take a killed worker's rows back within a
# lease (tens of seconds); the re-delivered task then finds nothing left to do.
CELERY_VISIBILITY_TIMEOUT = 660
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        # A publish to a broker that vanished without closing the connection fails instead of hanging.
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE = True
# A Redis outage does not stop running tasks: a drain goes on sending (it waits for Redis
# itself, see messaging/outbox/ratelimit.py), and its rows, not the broker message, are the truth.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_RETRY_BACKOFF_MAX = 300  # retries never wait anywhere near the visibility timeout
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Scheduled sends (送信予約): claim due sends with SKIP LOCKED; never long eta/countdown.
    "messaging-dispatch-scheduled": {"task": "messaging.tasks.dispatch_scheduled", "schedule": 15.0},
    # Outbox sweeper: re-queue deliveries stuck in sending past their lease, wake lost ones.
    "messaging-sweep": {"task": "messaging.tasks.sweep", "schedule": 15.0},
    # Received LINE events whose wake-up was lost or whose retry is due (line_integration/processing/tasks.py).
    "line-events-sweep": {"task": "line_integration.tasks.sweep", "schedule": 15.0},
    "line-events-purge": {"task": "line_integration.tasks.purge_old_events", "schedule": 24 * 3600.0},
    "messaging-attempts-purge": {"task": "messaging.tasks.purge_old_attempts", "schedule": 24 * 3600.0},
    # The day-before event reminders, at each company's hour (events/reminders.py).
    "events-send-reminders": {"task": "events.tasks.send_reminders", "schedule": 60.0},
    # Day-before interview reminders, at each company's hour (selection/reminders.py).
    "selection-interview-reminders": {"task": "selection.tasks.send_interview_reminders", "schedule": 300.0},
    # Reminders to answer a scheduling request still unanswered after the schedule's days.
    "selection-answer-reminders": {"task": "selection.tasks.send_answer_reminders", "schedule": 300.0},
}
# The LINE webhook's fast path (line_integration/webhook/fast_path.py): the same answers as the
# plain view (webhook/views.py) with less work per request. Off: every webhook request goes
# through the full middleware stack to the plain view.
LINE_WEBHOOK_FAST_PATH = env_bool("LINE_WEBHOOK_FAST_PATH", True)
# Processed webhook events are kept this long (they only guard against redelivered duplicates).
LINE_WEBHOOK_EVENT_RETENTION_DAYS = env_int("LINE_WEBHOOK_EVENT_RETENTION_DAYS", 30)
# Every try of every delivery (the send page's 試行履歴) is kept as long, by default.
DELIVERY_ATTEMPT_RETENTION_DAYS = env_int("DELIVERY_ATTEMPT_RETENTION_DAYS", LINE_WEBHOOK_EVENT_RETENTION_DAYS)
# LINE push pacing for the whole worker pool (a Redis token bucket per channel; LINE allows
# 2,000/s per channel for push, we stay well under it).
LINE_PUSH_RATE_PER_SECOND = env_int("LINE_PUSH_RATE_PER_SECOND", 1000)
LINE_PUSH_BURST = env_int("LINE_PUSH_BURST", 100)
LINE_PUSH_THREADS = env_int("LINE_PUSH_THREADS", 16)
# The sending outbox (messaging/outbox/): how long a claimed delivery stays the worker's without
# a heartbeat (a live worker renews it every third of this; a killed one's rows are taken back
# by the sweeper after it), and when a queued row nobody is working on counts as lost.
MESSAGING_LEASE_SECONDS = env_int("MESSAGING_LEASE_SECONDS", 30)
MESSAGING_STALE_QUEUED_SECONDS = env_int("MESSAGING_STALE_QUEUED_SECONDS", 30)

# Security. Production (DEBUG=0) gets the strict values `check --deploy` asks for.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_SAMESITE = "Lax"  # must survive the top-level redirect back from LINE Login
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies append to X-Forwarded-For in front of the app (0: none). Login
# throttling keys on the client's address, not the proxy's (see hrmos/client_ip.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

_line_hosts = sorted({LINE_ACCESS_BASE, LINE_API_BASE, LINE_STICKER_BASE})
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # Bootstrap components and htmx swaps set style attributes; scripts stay strict.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "https:", *_line_hosts],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        # Chrome applies form-action to redirects after a POST: allow LINE Login's host.
        "form-action": [SELF, LINE_ACCESS_BASE],
    }
}

# django-axes: lock a username from one IP after 5 failures, for 15 minutes; failures from all
# addresses together slow the username down too (hrmos/login_throttle.py).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A refused attempt checked no password: it neither counts as a guess nor extends the lock.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "hrmos.client_ip.client_ip"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
