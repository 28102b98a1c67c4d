"""Helpers for the receiving tests: captured webhook fixtures, LINE's signature, a signed POST.

Each file in tests/fixtures/line_events/ is one webhook body of the shape LINE sends, with one
event. `fixture_body()` points it at a test's bot and LINE user and returns the UTF-8 bytes
(non-ASCII kept raw, as LINE sends Japanese).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from django.urls import reverse

from hrmos.models import Company
from line_integration.models import LineIntegration

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "line_events"
SECRET = "8c2f9d1e4b7a6c3d5e0f1a2b3c4d5e6f"
OTHER_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BOT_USER_ID = "Uf0e1d2c3b4a5968778695a4b3c2d1e0f"
USER_ID = "U4af4980629a1b2c3d4e5f60718293a4b"


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fixture_body(
    name: str,
    *,
    destination: str = BOT_USER_ID,
    user_id: str | None = None,
    event_id: str | None = None,
    **changes: Any,
) -> bytes:
    """The fixture's body for this bot (and LINE user), optionally with another webhookEventId
    or other top-level event fields changed."""
    data = fixture(name)
    data["destination"] = destination
    for event in data["events"]:
        if user_id and event.get("source", {}).get("userId"):
            event["source"]["userId"] = user_id
        if event_id:
            event["webhookEventId"] = event_id
        event.update(changes)
    return encode(data)


def body_of(*events: dict[str, Any], destination: str = BOT_USER_ID) -> bytes:
    return encode({"destination": destination, "events": list(events)})


def event_of(name: str) -> dict[str, Any]:
    return fixture(name)["events"][0]


def webhook_path(company: Company, slash: bool = True) -> str:
    path = reverse("line:webhook", args=[company.public_id])
    return path if slash else path.rstrip("/")


def post(client: Any, company: Company, body: bytes, secret: str | None = SECRET, **kwargs: Any) -> Any:
    """POST the body to the company's webhook, signed with `secret` (None: no signature header)."""
    headers = {"x-line-signature": sign(secret, body)} if secret is not None else {}
    headers.update(kwargs.pop("headers", {}))
    path = kwargs.pop("path", None) or webhook_path(company)
    return client.post(path, data=body, content_type="application/json; charset=utf-8", headers=headers, **kwargs)


def link_directly(company: Company, *, secret: str = SECRET, bot_user_id: str = BOT_USER_ID) -> LineIntegration:
    """A 連携中 integration written straight to the database (no LINE calls): enough for the
    webhook and for events that need no content download."""
    return LineIntegration.objects.create(
        company=company,
        status=LineIntegration.Status.LINKED,
        messaging_channel_id=str(1_000_000_000 + company.pk),
        messaging_channel_secret=secret,
        login_channel_id=str(2_000_000_000 + company.pk),
        login_channel_secret="login-" + secret,
        bot_user_id=bot_user_id,
        bot_basic_id="@123abcde",
        bot_display_name="テスト採用",
    )
