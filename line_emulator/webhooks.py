"""Webhook dispatcher: complete event objects, signed exactly as LINE signs, sent from a background queue.

API responses never wait on the app: events are stored, then a scheduler thread hands due
deliveries to a small pool that POSTs them with LINE's 2-second timeout, logs each attempt,
and schedules redeliveries (same event, `isRedelivery: true`) when the channel has them on.
One channel's deliveries go one at a time, in order (the `shuffle` chaos switch reorders them);
different channels are sent in parallel.
"""

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from django.db import close_old_connections, transaction

from line_emulator import ids, runtime
from line_emulator.models import Channel, Persona, WebhookAttempt, WebhookEvent
from line_emulator.store import writing

logger = logging.getLogger(__name__)

USER_AGENT = "LineBotWebhook/2.0"


# Signing and sending ----------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(channel secret, the exact body bytes))."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def encode_body(destination: str, events: list[dict[str, Any]]) -> bytes:
    # ensure_ascii=False: Japanese travels as raw UTF-8, so re-encoding bugs in a receiver surface.
    body = {"destination": destination, "events": events}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class PostResult:
    status_code: int
    reason: str  # ok | could_not_connect | request_timeout | error_status_code | unclassified
    detail: str
    latency_ms: int

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def post(url: str, body: bytes, secret: str) -> tuple[PostResult, str]:
    sig = signature(secret, body)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, "x-line-signature": sig}
    timeout = runtime.setting("webhook_timeout_ms") / 1000
    started = time.monotonic()
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.Timeout as error:
        result = PostResult(0, "request_timeout", str(error)[:500], 0)
    except requests.ConnectionError as error:
        result = PostResult(0, "could_not_connect", str(error)[:500], 0)
    except requests.RequestException as error:
        result = PostResult(0, "unclassified", str(error)[:500], 0)
    else:
        reason = "ok" if 200 <= response.status_code < 300 else "error_status_code"
        result = PostResult(response.status_code, reason, str(response.status_code), 0)
    result.latency_ms = int((time.monotonic() - started) * 1000)
    return result, sig


def _log_attempt(
    channel: Channel, url: str, body: bytes, sig: str, result: PostResult, event_ids: list[str], **fields: Any
) -> WebhookAttempt:
    with writing():
        return WebhookAttempt.objects.create(
            channel=channel,
            url=url,
            event_ids=event_ids,
            status_code=result.status_code,
            reason=result.reason,
            detail=result.detail,
            latency_ms=result.latency_ms,
            signature=sig,
            body=body,
            started_at=runtime.now(),
            **fields,
        )


def test_endpoint(channel: Channel, url: str) -> dict[str, Any]:
    """The console's 検証 button and POST /v2/bot/channel/webhook/test: a signed empty-events POST."""
    body = encode_body(channel.bot_user_id, [])
    when = runtime.now()
    result, sig = post(url, body, channel.secret)
    _log_attempt(channel, url, body, sig, result, [], is_test=True)
    return {
        "success": result.ok,
        "timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "statusCode": result.status_code,
        "reason": result.reason.upper(),
        "detail": result.detail,
    }


# Event objects ----------------------------------------------------------------------------------


def _base_event(kind: str, user_id: str, timestamp_ms: int) -> dict[str, Any]:
    return {
        "type": kind,
        "timestamp": timestamp_ms,
        "source": {"type": "user", "userId": user_id},
        "mode": runtime.setting("event_mode"),
        "webhookEventId": ids.webhook_event_id(timestamp_ms),
        "deliveryContext": {"isRedelivery": False},
    }


def emit(
    channel: Channel,
    persona: Persona,
    user_id: str,
    kind: str,
    fields: dict[str, Any],
    *,
    replyable: bool,
    delay_ms: int = 0,
) -> WebhookEvent:
    """Store one event (with its reply token) and queue its delivery after `delay_ms`."""
    timestamp_ms = runtime.now_ms()
    event = _base_event(kind, user_id, timestamp_ms)
    reply_token = None
    if replyable and event["mode"] == "active":
        reply_token = ids.reply_token()
        event["replyToken"] = reply_token
    event.update(fields)
    with writing():
        stored = WebhookEvent.objects.create(
            channel=channel,
            event_id=event["webhookEventId"],
            type=kind,
            persona=persona,
            payload=event,
            reply_token=reply_token,
            created_at=runtime.now(),
        )
        # LINE sends only while a URL is set and 「Webhookの利用」 is on; the event is still recorded.
        if channel.webhook_url and channel.webhook_active:
            # After the commit, or the scheduler could look for an event that is not there yet.
            transaction.on_commit(lambda: dispatcher.enqueue(channel.channel_id, stored.event_id, delay_ms))
        else:
            dispatcher.skip(stored.event_id)
    return stored


# The queue --------------------------------------------------------------------------------------


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    channel_id: str = field(compare=False)
    event_ids: list[str] = field(compare=False)
    generation: int = field(compare=False)
    attempt: int = field(default=1, compare=False)
    is_redelivery: bool = field(default=False, compare=False)
    duplicate: bool = field(default=False, compare=False)


class Dispatcher:
    def __init__(self, workers: int = 8) -> None:
        self._cond = threading.Condition()
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._running = 0
        self._busy: set[str] = set()
        self._processed: set[str] = set()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        if self._thread is not None:
            return
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._loop, name="webhook-scheduler", daemon=True)
        self._thread.start()
        runtime.on_clock_change(self.wake)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def enqueue(self, channel_id: str, event_id: str, delay_ms: int = 0) -> None:
        chaos = runtime.setting("chaos")
        delay = max(delay_ms, 0) + int(chaos.get("delay_ms") or 0)
        if chaos.get("shuffle"):
            delay += secrets.randbelow(max(500, int(chaos.get("delay_ms") or 0)) + 1)
        due = runtime.monotonic() + delay / 1000
        self._push(_Job(due, next(self._seq), channel_id, [event_id], runtime.generation()))

    def _push(self, job: _Job) -> None:
        with self._cond:
            self._start()
            heapq.heappush(self._heap, job)
            self._cond.notify_all()

    def _ready(self) -> _Job | None:
        """The earliest due job of a channel with no delivery in flight: one channel's events stay in order."""
        now = runtime.monotonic()
        for job in sorted(self._heap):
            if job.due > now:
                return None
            if job.channel_id not in self._busy:
                self._heap.remove(job)
                heapq.heapify(self._heap)
                return job
        return None

    def _loop(self) -> None:
        pool = self._pool
        assert pool is not None  # start() makes the pool before this thread
        while True:
            with self._cond:
                job = self._ready()
                while job is None:
                    wait = 1.0 if not self._heap else min(max(self._heap[0].due - runtime.monotonic(), 0.001), 1.0)
                    self._cond.wait(timeout=wait)
                    job = self._ready()
                self._running += 1
                self._busy.add(job.channel_id)
            try:
                pool.submit(self._run, job)
            except RuntimeError:  # the interpreter is shutting down
                return

    def _run(self, job: _Job) -> None:
        try:
            close_old_connections()
            self._deliver(job)
        except Exception:
            logger.exception("webhook delivery failed inside the emulator")
        finally:
            with self._cond:
                self._running -= 1
                self._busy.discard(job.channel_id)
                self._processed.update(job.event_ids)
                self._cond.notify_all()

    def _deliver(self, job: _Job) -> None:
        if job.generation != runtime.generation():
            return
        channel = Channel.objects.filter(channel_id=job.channel_id).first()
        if channel is None or not channel.webhook_active or not channel.webhook_url:
            return
        stored = {event.event_id: event for event in WebhookEvent.objects.filter(event_id__in=job.event_ids)}
        events = []
        for event_id in job.event_ids:
            if event_id in stored:
                payload = dict(stored[event_id].payload)
                payload["deliveryContext"] = {"isRedelivery": job.is_redelivery}
                events.append(payload)
        if not events:
            return
        body = encode_body(channel.bot_user_id, events)
        result, sig = post(channel.webhook_url, body, channel.secret)
        if job.generation != runtime.generation():
            return
        # Schedule what follows before logging, so whoever sees the log entry also sees the next job.
        redelivery = runtime.setting("redelivery")
        if not result.ok and channel.redelivery_enabled and job.attempt <= int(redelivery["count"]):
            due = runtime.monotonic() + int(redelivery["interval_ms"]) / 1000
            self._push(replace(job, due=due, seq=next(self._seq), attempt=job.attempt + 1, is_redelivery=True))
        elif result.ok and runtime.setting("chaos").get("duplicate") and not job.duplicate:
            self._push(replace(job, due=runtime.monotonic(), seq=next(self._seq), duplicate=True))
        with writing():
            WebhookEvent.objects.filter(event_id__in=job.event_ids).update(last_delivered_at=runtime.now())
            if result.ok:
                WebhookEvent.objects.filter(event_id__in=job.event_ids).update(delivered=True)
        _log_attempt(
            channel,
            channel.webhook_url,
            body,
            sig,
            result,
            job.event_ids,
            is_redelivery=job.is_redelivery,
            attempt=job.attempt,
        )

    def skip(self, event_id: str) -> None:
        """An event that will not be sent counts as processed for `wait_processed`."""
        with self._cond:
            self._processed.add(event_id)
            self._cond.notify_all()

    def wait_processed(self, event_ids: list[str], timeout: float) -> bool:
        """Block until each event had its first delivery attempt (or was skipped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not set(event_ids) <= self._processed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(timeout=remaining)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is being sent and nothing is due now; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._running or (self._heap and self._heap[0].due <= runtime.monotonic()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(timeout=min(remaining, 0.05))
        return True

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._running

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self._processed.clear()
            self._cond.notify_all()


dispatcher = Dispatcher()
