"""Settings of the LINE platform emulator: its own Django project, its own SQLite file.

Nothing here is shared with the app (`hrmos.settings`); the emulator is reached only over HTTP.
The data file is `var/line_emulator.sqlite3` unless `LINE_EMULATOR_DATA` (or `--data`) says otherwise.
"""

import os
import secrets
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DATA_PATH = Path(os.environ.get("LINE_EMULATOR_DATA") or REPO_DIR / "var" / "line_emulator.sqlite3")

DEBUG = False
# Signs the SSO cookie only; a new key per process just means "log in again" after a restart.
SECRET_KEY = os.environ.get("LINE_EMULATOR_SECRET_KEY") or secrets.token_urlsafe(48)
# The emulator answers for api.line.me, api-data.line.me and access.line.me on any local name.
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = ["line_emulator", "django.contrib.staticfiles"]

# No CSRF middleware: LINE's APIs take no cookies. The HTML forms use @csrf_protect one by one.
MIDDLEWARE = [
    "line_emulator.http.RequestIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
]

ROOT_URLCONF = "line_emulator.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_PATH),
        # One connection per server thread, closed when its HTTP connection ends.
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "ja"
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# The repo's vendored Bootstrap, icons and htmx under vendor/; the emulator's own files come
# from line_emulator/static/ through the app-directories finder.
STATICFILES_DIRS = [("vendor", str(REPO_DIR / "static" / "vendor"))]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# The app's cookies live on the same host (127.0.0.1, another port): never share their names.
CSRF_COOKIE_NAME = "line_emulator_csrftoken"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "line_emulator.http.csrf_failure"

# Files sent by personas travel base64 in control-API JSON; LINE's own 2 MB limit is checked in the views.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        # One line per request would cost more than a push itself; LINE_EMULATOR_LOG_REQUESTS=1 turns it on.
        "django.server": {"level": "INFO" if os.environ.get("LINE_EMULATOR_LOG_REQUESTS") else "ERROR"},
        # 4xx answers are the point of an emulator, not warnings.
        "django.request": {"level": "ERROR"},
    },
}
