"""System checks run at startup (`manage.py check`, runserver, migrate, workers)."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from hrmos.fields import field_encryption


@register()
def field_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Encrypted fields fail closed; better to refuse to start than to fail on the first read."""
    try:
        field_encryption()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Set FIELD_ENCRYPTION_KEYS to comma-separated Fernet keys, newest first.",
                id="hrmos.E001",
            )
        ]
    if len(set(settings.FIELD_ENCRYPTION_KEYS)) != len(settings.FIELD_ENCRYPTION_KEYS):
        return [Error("FIELD_ENCRYPTION_KEYS lists the same key twice.", id="hrmos.E002")]
    return []
