"""Identifiers in the shapes LINE uses: channel ids, secrets, user ids, message ids, tokens."""

import hashlib
import hmac
import itertools
import secrets
import string
import threading
import time
import uuid

from ulid import ULID


def channel_id() -> str:
    """10 digits, like 1657123456 or 2001234567."""
    return str(secrets.choice((16, 20)) * 100_000_000 + secrets.randbelow(100_000_000))


def channel_secret() -> str:
    return secrets.token_hex(16)


def provider_secret() -> str:
    return secrets.token_hex(32)


def bot_user_id() -> str:
    return "U" + secrets.token_hex(16)


def basic_id() -> str:
    """`@` + 3 digits + 5 lowercase letters, e.g. @123abcde."""
    digits = "".join(secrets.choice(string.digits) for _ in range(3))
    letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(5))
    return f"@{digits}{letters}"


def user_id(provider_secret_: str, persona_id: str) -> str:
    """The persona's userId inside one provider: stable, and different in every provider."""
    digest = hmac.new(provider_secret_.encode(), persona_id.encode(), hashlib.sha256).hexdigest()
    return "U" + digest[:32]


def persona_id() -> str:
    return "p" + secrets.token_hex(4)


def request_id() -> str:
    return str(uuid.uuid4())


def access_token() -> str:
    return secrets.token_urlsafe(128)


def opaque(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def reply_token() -> str:
    return secrets.token_hex(16)


def quote_token() -> str:
    return secrets.token_urlsafe(64)


def webhook_event_id(timestamp_ms: int) -> str:
    return str(ULID.from_timestamp(timestamp_ms / 1000))


_message_lock = threading.Lock()
_message_last = 0
_message_counter = itertools.count()


def message_id() -> str:
    """18-digit numeric string, increasing, unique across restarts (milliseconds × 100,000 + n)."""
    global _message_last
    with _message_lock:
        candidate = int(time.time() * 1000) * 100_000 + next(_message_counter) % 100_000
        _message_last = max(candidate, _message_last + 1)
        return str(_message_last)
