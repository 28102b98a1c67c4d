"""A verified webhook body, read: its destination, its events, and the row each event is stored as.

- `parse(body)` → (destination, events), or `MalformedBody`.
- `event_values(company_id, event, received_at)`: the `LineWebhookEvent` row of one event, the
  payload kept as sent; an event without a webhookEventId gets a digest of itself instead, so
  it is still stored once.
- `sanitized(events)`: PostgreSQL's jsonb cannot hold the NUL character (`\\u0000` in the
  JSON) or a lone surrogate, so such strings are stored with U+FFFD in their place
  (`hrmos.text`) and the event says so (`SANITIZED_KEY`). The signature was checked over the
  raw bytes first, so this changes nothing about what is trusted.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from hrmos.text import REPLACEMENT, storable_json


class MalformedBody(ValueError):
    pass


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _event_id(event: dict[str, Any]) -> str:
    value = event.get("webhookEventId")
    if isinstance(value, str) and 0 < len(value) <= 64:
        return value
    # LINE always sends one (a ULID). Should it ever be missing, a digest of the event still
    # stores it once and never twice, rather than refusing or losing it.
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return "sha256-" + hashlib.sha256(canonical).hexdigest()[:57]


def _timestamp(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return fallback


def event_values(company_id: int, event: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    """The stored row of one event (column attname → value); the payload is the event as sent."""
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise MalformedBody("an event is not an object with a type")
    source = event.get("source")
    source = source if isinstance(source, dict) else {}
    event_type = event["type"]
    if event_type == "message":
        message = event.get("message")
        message_id = message.get("id") if isinstance(message, dict) else None
    elif event_type == "unsend":
        unsend = event.get("unsend")
        message_id = unsend.get("messageId") if isinstance(unsend, dict) else None
    else:
        message_id = None
    delivery = event.get("deliveryContext")
    return {
        "company_id": company_id,
        "webhook_event_id": _event_id(event),
        "event_type": event_type[:40],
        "source_type": _text(source.get("type"), 8),
        "source_user_id": _text(source.get("userId"), 64),
        "line_message_id": _text(message_id, 32),
        "timestamp": _timestamp(event.get("timestamp"), received_at),
        "is_redelivery": bool(delivery.get("isRedelivery")) if isinstance(delivery, dict) else False,
        "mode": _text(event.get("mode"), 16),
        "payload": event,
        "received_at": received_at,
    }


SANITIZED_KEY = "_sanitized"  # added to a stored event whose strings held NUL characters
SANITIZED_NOTE = "NUL文字（\\u0000）はデータベースに保存できないため、U+FFFD（�）に置き換えて保存しました"


def needs_sanitizing(body: bytes) -> bool:
    """Whether the JSON may carry a NUL or a lone surrogate: both arrive only as escapes."""
    return b"\\u0000" in body or b"\\ud" in body or b"\\uD" in body


def sanitized(events: list[Any]) -> list[Any]:
    """The events with NUL characters made storable, each changed event marked as such."""
    cleaned = []
    for event in events:
        clean, changed = storable_json(event, nul=REPLACEMENT)
        if changed and isinstance(clean, dict):
            clean[SANITIZED_KEY] = SANITIZED_NOTE
        cleaned.append(clean)
    return cleaned


def parse(body: bytes) -> tuple[str, list[Any]]:
    """(destination, events) of a webhook body, or MalformedBody."""
    try:
        data = json.loads(body)
    except ValueError as exc:  # also invalid UTF-8
        raise MalformedBody(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedBody("the body is not a JSON object")
    destination, events = data.get("destination"), data.get("events")
    if not isinstance(destination, str) or not isinstance(events, list):
        raise MalformedBody("destination or events missing")
    return destination, events
