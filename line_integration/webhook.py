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
5. Every event becomes one `LineWebhookEvent` row, written with ONE `INSERT … ON CONFLICT DO
   NOTHING` (the statement `bulk_create(ignore_conflicts=True)` sends, issued alone in
   autocommit, so one round trip), so a redelivered or duplicated event is stored once and the
   row is durable before the 200. Concurrent requests of one process share that statement
   (`GroupCommit`). After the commit processing is woken (`tasks.wake`); a database error →
   503 so LINE redelivers.

The hot path is short on purpose (see benchmarks/webhook.py): `WebhookMiddleware` sits first
in MIDDLEWARE and answers webhook POSTs itself, skipping sessions, CSRF, auth, CSP and the
rest, which a signed machine-to-machine request does not use; the integration lookup and an
HMAC object keyed with the decrypted secret are cached per process for `CACHE_SECONDS`
(dropped on any LineIntegration save in this process, and re-read on a signature or
destination mismatch, so a relink with a new secret does not bounce events); Django's
per-request connection health check (a SELECT 1) is skipped in favour of one reconnect on
failure; and the wake-up after commit is an in-process flag, not a broker publish per request
(a publish costs ~0.4 ms, about what the rest of the request costs; see tasks.py).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, InterfaceError, OperationalError, connections, router, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from line_integration import tasks
from line_integration.models import LineIntegration, LineWebhookEvent

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
    row = (
        LineIntegration.objects.filter(company__public_id=public_id, status=LineIntegration.Status.LINKED)
        .only("company_id", "bot_user_id", "messaging_channel_secret")
        .first()
    )
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


# --- the event rows -----------------------------------------------------------------------


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


_COLUMNS_SET = (  # what event_values() fills: bound parameters of the INSERT
    "company_id", "webhook_event_id", "event_type", "source_type", "source_user_id", "line_message_id",
    "timestamp", "is_redelivery", "mode", "payload", "received_at",
)  # fmt: skip
_FIELDS_BY_ATTNAME = {field.attname: field for field in LineWebhookEvent._meta.concrete_fields}
_PARAM_FIELDS = [_FIELDS_BY_ATTNAME[name] for name in _COLUMNS_SET]
# Only these need adapting for the database (JSON, and datetimes on SQLite); the rest are
# already plain str/int/bool, so Django's per-field get_db_prep_save is skipped for them.
_ADAPTED = {field.attname for field in _PARAM_FIELDS if field.get_internal_type() in ("JSONField", "DateTimeField")}


def _literal(value: Any) -> str:
    if value == "" and isinstance(value, str):
        return "''"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"no SQL literal for default {value!r}: bind it in event_values() instead")


# The other NOT NULL columns get their model default as a constant in the statement (fewer
# parameters to adapt per row); nullable ones are left out (NULL).
_CONSTANT_FIELDS = [
    field
    for field in LineWebhookEvent._meta.concrete_fields
    if not field.primary_key and field not in _PARAM_FIELDS and not field.null
]
_CONSTANTS = [_literal(field.get_default()) for field in _CONSTANT_FIELDS]
_insert_sql: dict[tuple[str, int], str] = {}


def _insert_statement(connection: Any, count: int) -> str:
    """`INSERT … VALUES (…), … ON CONFLICT (company_id, webhook_event_id) DO NOTHING`: the
    statement `bulk_create(ignore_conflicts=True)` sends, built once per row count. Issued on
    its own in autocommit it is one round trip (bulk_create adds BEGIN and COMMIT around it)."""
    key = (connection.vendor, count)
    sql = _insert_sql.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in [*_PARAM_FIELDS, *_CONSTANT_FIELDS])
        row = "(" + ", ".join(["%s"] * len(_PARAM_FIELDS) + _CONSTANTS) + ")"
        # Identifiers come from the model's meta; every value is a bound parameter or a constant default.
        table, rows, conflict = quote(LineWebhookEvent._meta.db_table), ", ".join([row] * count), quote("company_id")
        sql = f"INSERT INTO {table} ({columns}) VALUES {rows} "  # noqa: S608
        sql += f"ON CONFLICT ({conflict}, {quote('webhook_event_id')}) DO NOTHING"
        if count <= 64:
            _insert_sql[key] = sql
    return sql


def _insert(rows: list[dict[str, Any]]) -> None:
    connection = connections[router.db_for_write(LineWebhookEvent)]
    params = [
        field.get_db_prep_save(row[field.attname], connection) if field.attname in _ADAPTED else row[field.attname]
        for row in rows
        for field in _PARAM_FIELDS
    ]
    sql = _insert_statement(connection, len(rows))
    reused = connection.connection is not None and not connection.in_atomic_block
    if reused:
        # Django would run its connection health check (a SELECT 1 round trip) before this
        # request's first query. A dead connection fails the INSERT just as surely, and that
        # case is handled below with a fresh connection, so the check is skipped here.
        connection.health_check_done = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    except (InterfaceError, OperationalError):
        if not reused:
            raise
        connection.close()  # the persistent connection died (a database restart): reconnect once
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


class GroupCommit:
    """Concurrent webhook requests of one process share one INSERT, and so one commit.

    With threaded workers several webhook requests wait on the database at once. The first
    becomes the leader and inserts every row queued so far in one statement; requests that
    arrive meanwhile queue up, and when the statement returns the leader hands the next batch
    to the first of them. Every request still answers only after ITS rows are committed (or
    gets the error, hence 503), so durability before the 200 is unchanged; what is shared is
    the statement, the round trip and the WAL flush, which dominate the webhook's cost. Alone,
    a request simply inserts its own rows (no waiting, no timer).
    """

    @dataclass
    class _Job:
        rows: list[dict[str, Any]]
        ready: threading.Event = dataclasses.field(default_factory=threading.Event)
        done: bool = False
        error: BaseException | None = None

    def __init__(self, write: Callable[[list[dict[str, Any]]], None]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._queue: list[GroupCommit._Job] = []
        self._busy = False

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        job = self._Job(rows)
        with self._lock:
            self._queue.append(job)
            leading = not self._busy
            self._busy = True
        if not leading:
            job.ready.wait()
        if not job.done:  # the leader, or promoted to lead the next batch (this job is in it)
            self._lead()
        if job.error is not None:
            if isinstance(job.error, DatabaseError):
                raise DatabaseError(str(job.error)) from job.error
            raise RuntimeError("storing the webhook events failed") from job.error

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        error = None
        try:
            self._write([row for job in batch for row in job.rows])
        except BaseException as exc:  # handed to every request of the batch
            error = exc
        with self._lock:
            successor = self._queue[0] if self._queue else None
            self._busy = successor is not None
        for job in batch:
            job.error, job.done = error, True
            job.ready.set()
        if successor is not None:
            successor.ready.set()


_group_commit = GroupCommit(_insert)


def store(company_id: int, events: list[Any]) -> int:
    """Store the events (a duplicate webhookEventId is skipped by the unique constraint), durably
    before returning, and wake processing after the commit. Returns how many events there were."""
    now = timezone.now()
    rows = [event_values(company_id, event, now) for event in events]
    connection = connections[router.db_for_write(LineWebhookEvent)]
    if connection.in_atomic_block:
        _insert(rows)  # inside a transaction (tests): its commit is the caller's
    else:
        _group_commit(rows)  # in autocommit: committed when this returns
    transaction.on_commit(tasks.wake)  # immediate in autocommit; deferred inside an atomic block
    return len(rows)


# --- the request --------------------------------------------------------------------------


def _plain(status: int, text: str = "") -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Content-Length"] = str(len(response.content))  # CommonMiddleware is skipped on the fast path
    return response


def receive(request: HttpRequest, public_id: str) -> HttpResponse:
    """The whole webhook. Never raises: every outcome is a status LINE understands."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        logger.warning("LINE webhook %s: body of %d bytes refused", public_id, length)
        return _plain(413, "body too large")
    signature = request.META.get("HTTP_X_LINE_SIGNATURE")
    if not signature:
        logger.warning("LINE webhook %s: no X-Line-Signature header", public_id)
        return _plain(400, "missing signature")
    try:
        channel = channel_for(public_id)
        if channel is None:
            return _plain(404, "not found")
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            return _plain(413, "body too large")
        if not channel.signature_matches(body, signature):
            channel = recheck(public_id, channel)  # the secret may have changed since it was cached
            if channel is None:
                return _plain(404, "not found")
            if not channel.signature_matches(body, signature):
                logger.warning(
                    "LINE webhook for company %s: bad signature (%d bytes), nothing stored",
                    channel.company_id,
                    len(body),
                )
                return _plain(400, "bad signature")
        company_id = channel.company_id
        try:
            destination, events = parse(body)
            if destination != channel.bot_user_id:
                fresh = recheck(public_id, channel)
                if fresh is None or fresh.company_id != company_id or destination != fresh.bot_user_id:
                    raise MalformedBody("destination is not this company's bot")
            if not events:
                return _plain(200, "OK")  # LINE's 検証 button and the webhook test
            store(company_id, events)
        except MalformedBody as exc:
            logger.warning("LINE webhook for company %s: malformed body refused: %s", company_id, exc)
            return _plain(400, "malformed body")
    except DatabaseError:
        # Never answer 200 for an event that is not stored: LINE redelivers on a 5xx.
        logger.exception("LINE webhook %s: database unavailable, answering 503", public_id)
        return _plain(503, "temporarily unavailable")
    return _plain(200, "OK")


@csrf_exempt
@login_not_required
@require_POST
@transaction.non_atomic_requests
def webhook(request: HttpRequest, public_id: str) -> HttpResponse:
    """The URLconf entry (reverse() and requests that bypass `WebhookMiddleware`)."""
    return receive(request, public_id)


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
        path = request.path_info
        if request.method == "POST" and path.startswith(PATH_PREFIX):
            public_id = path[len(PATH_PREFIX) :]
            if public_id.endswith("/"):
                public_id = public_id[:-1]
            if public_id and "/" not in public_id:
                return receive(request, public_id)
        return self.get_response(request)
