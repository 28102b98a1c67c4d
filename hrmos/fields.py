"""Secrets at rest: `EncryptedTextField`, a text column holding a Fernet token.

Keys come from `settings.FIELD_ENCRYPTION_KEYS` (newest first, a dedicated setting, never
derived from SECRET_KEY in production). `MultiFernet` decrypts with any listed key and
encrypts with the first, so rotating is: put the new key first, run
`manage.py rotate_field_encryption`, then drop the old key.

It fails closed: a value that no configured key can decrypt raises `FieldDecryptionError`
instead of handing back the ciphertext as if it were the secret (the flaw that
django-fernet-encrypted-fields has; see docs/reliability.md). The column is not searchable:
only `isnull` lookups are allowed, since the same plaintext never encrypts to the same text.
"""

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models


class FieldDecryptionError(ImproperlyConfigured):
    """A stored value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."""


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: encrypted fields cannot be read or written.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        # Never echo the key itself.
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes; make one with Fernet.generate_key())."
        ) from exc


def field_encryption() -> MultiFernet:
    """The MultiFernet for the current settings (cached per key list, so overrides in tests work)."""
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(plaintext: str) -> str:
    return field_encryption().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_text(ciphertext: str, *, label: str = "value") -> str:
    try:
        return field_encryption().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise FieldDecryptionError(
            f"{label} could not be decrypted with FIELD_ENCRYPTION_KEYS "
            "(wrong or missing key, or a value that was never encrypted)."
        ) from exc


class EncryptedTextField(models.TextField):
    """A TextField stored as a Fernet token. The empty string means "not set" and is stored as is."""

    description = "Text encrypted at rest with MultiFernet (FIELD_ENCRYPTION_KEYS)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)  # never in a ModelForm or the admin by accident
        super().__init__(*args, **kwargs)

    def _label(self) -> str:
        model = getattr(self, "model", None)
        return f"{model._meta.label}.{self.name}" if model is not None else self.name

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt_text(value, label=self._label())

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise FieldError(f"{self._label()} is encrypted and cannot be filtered with '{lookup_name}'.")
        return super().get_lookup(lookup_name)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every concrete (model, field) pair using EncryptedTextField, for rotation and checks."""
    found = []
    for model in apps.get_models():
        if model._meta.abstract or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model, field))
    return found
