"""The LINE webhook: `POST /line/webhook/<public_id>/`, the one door the internet knocks on.

verify → store raw → 200 → process async (RELIABILITY.md §3.2, LINE_PLATFORM.md §3):

1. A body over `MAX_BODY_BYTES` → 413; no `X-Line-Signature` header → 400 (before any query).
2. The company's integration by the URL's public id; unknown or not 連携中 → 404.
3. base64(HMAC-SHA256(Messaging API channel secret, the raw body bytes)), compared in constant
   time; a mismatch → 400, nothing stored, a warning logged without the body or the signature.
   Verification is ours (stdlib `hmac`), not the SDK's `SignatureValidator`: the SDK decodes and
   re-encodes the body as `str`, and we want the bytes exactly as received.
4. The JSON must be an object with `destination` = the stored bot user id and a list of event
   objects; otherwise 400 (logged). An empty `events` list (LINE's 検証 button and the webhook
   test API) → 200 with nothing stored.
5. The events are stored (`webhook_store.py`): one row per event, ONE `INSERT … ON CONFLICT
   DO NOTHING` shared by concurrent requests, so a redelivered or duplicated event is stored
   once and the row is durable before the 200; NUL characters, which PostgreSQL's jsonb
   refuses, are replaced first. After the commit processing is woken
   (`tasks.wake(company_id)`); a database error → 503 so LINE redelivers.
6. Nothing raises out of `receive`: an unexpected error is logged and answered 500. LINE
   treats any non-2xx alike (`error_status_code`, then redelivery), so 500 vs 503 only tells
   our own logs and monitoring apart: 503 means "the database is unavailable, retry", 500 means
   "a bug", with its traceback logged.

The hot path is short on purpose (see benchmarks/webhook.py): `WebhookMiddleware` sits first
in MIDDLEWARE and answers webhook POSTs itself, skipping sessions, CSRF, auth, CSP and the
rest, which a signed machine-to-machine request does not use. Under gunicorn the same
requests are answered one step earlier still, by `WebhookWSGI` around Django's WSGI handler
(hrmos/wsgi.py; only while the middleware is in MIDDLEWARE): no WSGIRequest, no
request_started/request_finished signals, no handler chain: ~30 % less worker CPU per
webhook request in the benchmark (0.46× → 0.57× the baseline), and less GIL time for the
other threads. Of what those signals do, the webhook needs only what `close_old_connections()`
does for a connection it used (closed if broken, outside autocommit or past CONN_MAX_AGE):
`webhook_store.tidy_connection()`, called where it used one (the group commit's leader after
its statement, a cache miss after its query), not for every request's every connection. Its
answers are built once (`Answer`), not an HttpResponse per request. The integration lookup and an
HMAC object keyed with the decrypted secret are cached per process for `CACHE_SECONDS`
(dropped on any LineIntegration save in this process, and re-read on a signature or
destination mismatch, so a relink with a new secret does not bounce events); Django's
per-request connection health check (a SELECT 1) is skipped in favour of one reconnect on
failure; and the wake-up after commit is an in-process set of company ids, not a broker publish per request
(a publish costs ~0.4 ms, about what the rest of the request costs; see tasks.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from line_integration.models import LineIntegration
from line_integration.webhook.store import (
    MalformedBody,
    needs_sanitizing,
    parse,
    sanitized,
    store,
    tidy_connection,
)

logger = logging.getLogger(__name__)

PATH_PREFIX = "/line/webhook/"
MAX_BODY_BYTES = 1024 * 1024
CACHE_SECONDS = 10.0
RECHECK_SECONDS = 1.0


# --- the per-process integration cache ----------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """What the webhook needs of a linked company, without a query or a decryption per request."""

    company_id: int
    bot_user_id: str
    mac: Any  # an hmac.HMAC keyed with the channel secret; copied for each request
    loaded_at: float

    def signature_matches(self, body: bytes, signature: str) -> bool:
        mac = self.mac.copy()
        mac.update(body)
        expected = base64.b64encode(mac.digest())
        try:
            given = signature.strip().encode("ascii")
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(expected, given)


_channels: dict[str, Channel] = {}


def _load(public_id: str) -> Channel | None:
    try:
        row = (
            LineIntegration.objects.filter(company__public_id=public_id, status=LineIntegration.Status.LINKED)
            .only("company_id", "bot_user_id", "messaging_channel_secret")
            .first()
        )
    finally:
        tidy_connection()
    if row is None or not row.messaging_channel_secret:
        _channels.pop(public_id, None)
        return None
    channel = Channel(
        company_id=row.company_id,
        bot_user_id=row.bot_user_id,
        mac=hmac.new(row.messaging_channel_secret.encode("utf-8"), digestmod=hashlib.sha256),
        loaded_at=time.monotonic(),
    )
    _channels[public_id] = channel
    return channel


def channel_for(public_id: str) -> Channel | None:
    """The linked company behind a webhook URL, from this process's cache when recent."""
    cached = _channels.get(public_id)
    if cached is not None and time.monotonic() - cached.loaded_at < CACHE_SECONDS:
        return cached
    return _load(public_id)


def recheck(public_id: str, cached: Channel) -> Channel | None:
    """After a signature or destination mismatch: the channel as stored now (the company may
    have relinked in another process). At most once a second, so a flood of forged requests
    cannot turn into a flood of queries."""
    if time.monotonic() - cached.loaded_at < RECHECK_SECONDS:
        return cached
    return _load(public_id)


def forget_channels() -> None:
    _channels.clear()


@receiver(post_save, sender=LineIntegration, dispatch_uid="line_webhook_forget_on_save")
@receiver(post_delete, sender=LineIntegration, dispatch_uid="line_webhook_forget_on_delete")
def _integration_changed(**kwargs: Any) -> None:
    forget_channels()


# --- the request --------------------------------------------------------------------------


class Answer:
    """One of the webhook's few plain-text answers, built once: as a Django response for the
    view and the middleware, and as ready-made WSGI status and headers for `WebhookWSGI`."""

    def __init__(self, status: int, text: str) -> None:
        self.status = status
        self.body = text.encode("utf-8")
        self.wsgi_status = f"{status} {HTTPStatus(status).phrase}"
        self.wsgi_headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(self.body))),  # CommonMiddleware is skipped on the fast path
        ]

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status, content_type="text/plain; charset=utf-8")
        response["Content-Length"] = str(len(self.body))
        return response


OK = Answer(200, "OK")
MISSING_SIGNATURE = Answer(400, "missing signature")
BAD_SIGNATURE = Answer(400, "bad signature")
MALFORMED = Answer(400, "malformed body")
NOT_FOUND = Answer(404, "not found")
TOO_LARGE = Answer(413, "body too large")
INTERNAL_ERROR = Answer(500, "internal error")
UNAVAILABLE = Answer(503, "temporarily unavailable")


def receive(request: HttpRequest | RawRequest, public_id: str) -> Answer:
    """The whole webhook. Never raises: every outcome is a status LINE understands (see the
    module docstring, 6. for why an unexpected error is 500)."""
    try:
        return _receive(request, public_id)
    except Exception:
        logger.exception("LINE webhook %s: unexpected error, answering 500 (LINE redelivers)", public_id)
        return INTERNAL_ERROR


def _receive(request: HttpRequest | RawRequest, public_id: str) -> Answer:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        logger.warning("LINE webhook %s: body of %d bytes refused", public_id, length)
        return TOO_LARGE
    signature = request.META.get("HTTP_X_LINE_SIGNATURE")
    if not signature:
        logger.warning("LINE webhook %s: no X-Line-Signature header", public_id)
        return MISSING_SIGNATURE
    try:
        channel = channel_for(public_id)
        if channel is None:
            return NOT_FOUND
        try:
            body = request.body
        except RequestDataTooBig:
            return TOO_LARGE
        if len(body) > MAX_BODY_BYTES:
            return TOO_LARGE
        if not channel.signature_matches(body, signature):
            channel = recheck(public_id, channel)  # the secret may have changed since it was cached
            if channel is None:
                return NOT_FOUND
            if not channel.signature_matches(body, signature):
                logger.warning(
                    "LINE webhook for company %s: bad signature (%d bytes), nothing stored",
                    channel.company_id,
                    len(body),
                )
                return BAD_SIGNATURE
        company_id = channel.company_id
        try:
            destination, events = parse(body)
            if destination != channel.bot_user_id:
                fresh = recheck(public_id, channel)
                if fresh is None or fresh.company_id != company_id or destination != fresh.bot_user_id:
                    raise MalformedBody("destination is not this company's bot")
            if not events:
                return OK  # LINE's 検証 button and the webhook test
            if needs_sanitizing(body):  # rare, so only then walk the events
                events = sanitized(events)
                logger.warning("LINE webhook for company %s: unstorable characters replaced", company_id)
            store(company_id, events)
        except MalformedBody as exc:
            logger.warning("LINE webhook for company %s: malformed body refused: %s", company_id, exc)
            return MALFORMED
    except DatabaseError:
        # Never answer 200 for an event that is not stored: LINE redelivers on a 5xx.
        logger.exception("LINE webhook %s: database unavailable, answering 503", public_id)
        return UNAVAILABLE
    return OK


@csrf_exempt
@login_not_required
@require_POST
@transaction.non_atomic_requests
def webhook(request: HttpRequest, public_id: str) -> HttpResponse:
    """The URLconf entry (reverse() and requests that bypass `WebhookMiddleware`)."""
    return receive(request, public_id).response()


def _public_id(method: str, path: str) -> str | None:
    """The public id of a webhook POST's path (`/line/webhook/<id>/` or without the slash)."""
    if method == "POST" and path.startswith(PATH_PREFIX):
        public_id = path[len(PATH_PREFIX) :]
        if public_id.endswith("/"):
            public_id = public_id[:-1]
        if public_id and "/" not in public_id:
            return public_id
    return None


class WebhookMiddleware:
    """First in MIDDLEWARE: a webhook POST is answered here, before the session, CSRF, auth,
    login-required, CSP, htmx and axes middleware run; none of them applies to a signed
    machine-to-machine request, and the webhook's latency budget is LINE's 2 seconds under
    bursts. Both `/line/webhook/<id>/` and `/line/webhook/<id>` are answered (no APPEND_SLASH
    redirect: a 301 on POST is a failed delivery for LINE). Other methods fall through to the
    URLconf (405)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        public_id = _public_id(request.method or "", request.path_info)
        if public_id is not None:
            return receive(request, public_id).response()
        return self.get_response(request)


MIDDLEWARE_PATH = f"{WebhookMiddleware.__module__}.{WebhookMiddleware.__qualname__}"


class RawRequest:
    """What `receive` reads of a request, straight from the WSGI environ: `META` (the environ
    itself, as in Django's WSGIRequest) and `body`, read on first use like Django's: exactly
    CONTENT_LENGTH bytes, none without it."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.META = environ

    @cached_property
    def body(self) -> bytes:
        try:
            length = int(self.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        return self.META["wsgi.input"].read(length) if length > 0 else b""


class WebhookWSGI:
    """Wraps Django's WSGI application (hrmos/wsgi.py): a webhook POST is answered by `receive`
    without going through Django's handler at all (see the module docstring), the same answer
    `WebhookMiddleware` would give. Only while that middleware is in MIDDLEWARE (a deployment
    without it wants every request through the full stack), and only for an ASCII public id
    (WSGI paths are Latin-1-decoded bytes; any other goes through Django, which decodes it)."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.enabled = MIDDLEWARE_PATH in settings.MIDDLEWARE

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        public_id = None
        if self.enabled:
            public_id = _public_id(environ.get("REQUEST_METHOD", "").upper(), environ.get("PATH_INFO", ""))
        if public_id is None or not public_id.isascii():
            return self.application(environ, start_response)
        answer = receive(RawRequest(environ), public_id)
        start_response(answer.wsgi_status, list(answer.wsgi_headers))
        return [answer.body]
