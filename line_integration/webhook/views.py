"""The LINE webhook: `POST /line/webhook/<public_id>/`, where LINE delivers a company's events.

1. A body over `MAX_BODY_BYTES` → 413; no `X-Line-Signature` header → 400.
2. The company's linked channel, by the URL's public id; unknown or not 連携中 → 404.
3. The signature, base64(HMAC-SHA256(channel secret, the body's bytes as received)), compared
   in constant time; a mismatch → 400 and nothing stored. (Not line-bot-sdk's validator: it
   works on the body decoded to str, and LINE signs the bytes.)
4. The body: a JSON object whose `destination` is this company's bot, with a list of event
   objects, otherwise 400. No events (LINE's 検証 button) → 200, nothing stored.
5. Each event stored once (a webhookEventId already stored is skipped) and committed before
   the answer, then the processing worker woken; a database error → 503, so LINE redelivers.
6. 200. An unexpected error is logged and answered 500 (LINE redelivers any non-2xx alike).

This is the behaviour in plain Django; `fast_path.py` gives the same answers with less work
per request, unless settings.LINE_WEBHOOK_FAST_PATH is False. See docs/line.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from line_integration.models import LineIntegration, LineWebhookEvent
from line_integration.processing import tasks
from line_integration.webhook.body import MalformedBody, event_values, needs_sanitizing, parse, sanitized

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


OK = Answer(200, "OK")
MISSING_SIGNATURE = Answer(400, "missing signature")
BAD_SIGNATURE = Answer(400, "bad signature")
MALFORMED = Answer(400, "malformed body")
NOT_FOUND = Answer(404, "not found")
TOO_LARGE = Answer(413, "body too large")
INTERNAL_ERROR = Answer(500, "internal error")
UNAVAILABLE = Answer(503, "temporarily unavailable")


@dataclass(frozen=True)
class Channel:
    """What the webhook needs of a linked company's Messaging API channel."""

    company_id: int
    bot_user_id: str
    secret: str

    def digest(self, body: bytes) -> bytes:
        return hmac.new(self.secret.encode(), body, hashlib.sha256).digest()

    def signed(self, body: bytes, signature: str) -> bool:
        """Whether X-Line-Signature is the base64 of the body's HMAC (compared in constant time)."""
        try:
            given = signature.strip().encode("ascii")
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(base64.b64encode(self.digest(body)), given)

    def fresh(self) -> Channel | None:
        """The channel as stored now: this one, just read (a cached copy reads it again)."""
        return self


def linked_channel(public_id: str) -> Channel | None:
    linked = LineIntegration.objects.filter(company__public_id=public_id, status=LineIntegration.Status.LINKED)
    integration = linked.first()
    if integration is None or not integration.messaging_channel_secret:
        return None
    return Channel(integration.company_id, integration.bot_user_id, integration.messaging_channel_secret)


def store(company_id: int, events: list[Any]) -> None:
    """One row per event (a webhookEventId already stored is skipped), then processing woken."""
    now = timezone.now()
    rows = [LineWebhookEvent(**event_values(company_id, event, now)) for event in events]
    LineWebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(partial(tasks.wake, company_id))


class WebhookRequest(Protocol):
    """What the webhook reads of a request: Django's, or the fast path's."""

    META: dict[str, Any]

    @property
    def body(self) -> bytes: ...


Find = Callable[[str], Channel | None]
Save = Callable[[int, list[Any]], None]


def receive(request: WebhookRequest, public_id: str, find: Find = linked_channel, save: Save = store) -> Answer:
    """The webhook's answer to a request (steps 1-6 above); never raises."""
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        logger.warning("LINE webhook %s: body of %s bytes refused", public_id, length)
        return TOO_LARGE
    signature = request.META.get("HTTP_X_LINE_SIGNATURE")
    if not signature:
        logger.warning("LINE webhook %s: no X-Line-Signature header", public_id)
        return MISSING_SIGNATURE
    try:
        channel = find(public_id)
        if channel is None:
            return NOT_FOUND
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            return TOO_LARGE
        if not channel.signed(body, signature):
            channel = channel.fresh()  # a cached secret may predate a relink
            if channel is None:
                return NOT_FOUND
            if not channel.signed(body, signature):
                logger.warning("LINE webhook for company %s: bad signature (%d bytes)", channel.company_id, len(body))
                return BAD_SIGNATURE
        return _store(channel, body, save)
    except RequestDataTooBig:
        return TOO_LARGE
    except DatabaseError:  # never 200 for an event that is not stored
        logger.exception("LINE webhook %s: database unavailable, answering 503", public_id)
        return UNAVAILABLE
    except Exception:
        logger.exception("LINE webhook %s: unexpected error, answering 500 (LINE redelivers)", public_id)
        return INTERNAL_ERROR


def _store(channel: Channel, body: bytes, save: Save) -> Answer:
    try:
        destination, events = parse(body)
        if destination != channel.bot_user_id:
            fresh = channel.fresh()
            if fresh is None or destination != fresh.bot_user_id:
                raise MalformedBody("destination is not this company's bot")
        if not events:
            return OK
        if needs_sanitizing(body):  # NUL or a lone surrogate, which jsonb refuses; rare
            events = sanitized(events)
            logger.warning("LINE webhook for company %s: NUL characters replaced", channel.company_id)
        save(channel.company_id, events)
    except MalformedBody as exc:
        logger.warning("LINE webhook for company %s: malformed body refused: %s", channel.company_id, exc)
        return MALFORMED
    return OK


@csrf_exempt
@login_not_required
@require_POST
@transaction.non_atomic_requests
def webhook(request: HttpRequest, public_id: str) -> HttpResponse:
    answer = receive(request, public_id)
    return HttpResponse(answer.text, status=answer.status, content_type="text/plain; charset=utf-8")
