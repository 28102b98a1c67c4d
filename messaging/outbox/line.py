"""Pushing a batch of claimed LINE deliveries through `line_integration`.

Each push carries `X-Line-Retry-Key` = the delivery's UUID, on every attempt, with the text
rendered at the first attempt and stored before that attempt's push (one bulk UPDATE per
batch), so any retry, even after a crash mid-push, sends byte-identical content, and a retry
after "accepted, then 500" is refused by LINE with a 409 that we record as sent (with the
original message ids). Pushes run on a thread pool (HTTP waits dominate); the database work
stays on the calling thread: the claim, the stored renderings, one bulk update after, and
`start`/`finish` let the drain claim and prepare the next batch while this one's pushes are
in flight. A per-channel token bucket (ratelimit.py) paces the whole pool.

A delivery that raises something unexpected (a bug, bad data) is failed on its own with the
error logged; it never takes its batch down with it.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from django.conf import settings
from django.db import connections
from django.utils import timezone

from line_integration.api import client, tokens
from line_integration.api.client import LineError, LineErrorKind, PushResult
from line_integration.models import LineIntegration
from messaging import rendering, rules
from messaging.models import Channel, Delivery
from messaging.outbox import ratelimit, rows
from messaging.placeholders import SendScope

log = logging.getLogger(__name__)

CHUNK = 25  # tokens taken per round; keeps bursts small
RATE_LIMITED_PAUSE_SECONDS = 1.0  # after a rate-limit 429, our bucket for the channel owes this long
REASON_REDIS_DOWN = "送信数の調整に使うサーバーに接続できないため、後で送信します"
REDIS_DOWN_RETRY_SECONDS = 5.0

_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    pool = _pools.get(os.getpid())  # a forked worker must not reuse its parent's threads
    if pool is None:
        pool = ThreadPoolExecutor(max_workers=settings.LINE_PUSH_THREADS, thread_name_prefix="line-push")
        _pools[os.getpid()] = pool
    return pool


@dataclass(frozen=True)
class Pushed:
    """A push's result (or the exception it raised), when it started and how long it took."""

    result: PushResult | Exception
    started_at: datetime
    duration_ms: int


def _push(integration: LineIntegration, delivery: Delivery, texts: list[str]) -> Pushed:
    started_at, clock = timezone.now(), time.monotonic()
    result: PushResult | Exception
    try:
        result = tokens.call_with_token(integration, client.push_text_messages, delivery.address, texts, delivery.id)
    except Exception as exc:  # every outcome is classified on the calling thread
        result = exc
    finally:
        connections.close_all()  # a 401 re-mint touches the database from this thread
    return Pushed(result, started_at, round((time.monotonic() - clock) * 1000))


def attempt_of(pushed: Pushed) -> rows.Attempt:
    """What LINE answered, for the delivery's attempt log."""
    attempt = rows.Attempt(started_at=pushed.started_at, duration_ms=pushed.duration_ms)
    result = pushed.result
    if isinstance(result, PushResult):
        attempt.http_status = 409 if result.already_accepted else 200
        attempt.line_request_id = result.request_id
    elif isinstance(result, LineError):
        attempt.http_status = result.status or None
        attempt.line_request_id = result.request_id
        attempt.error = result.message + (f"（{'; '.join(result.details)}）" if result.details else "")
        if not result.status:
            attempt.error = f"応答なし: {attempt.error}"
    else:
        attempt.error = f"{type(result).__name__}: {result}"
    return attempt


class RequestId(TypedDict, total=False):
    """LINE's request id for the delivery's row, when LINE answered with one."""

    line_request_id: str


# Every further push of the send would be refused the same way: fail the rest at once.
FAIL_FAST = (rules.REASON_QUOTA, rules.REASON_LINE_AUTH)


def classify(delivery: Delivery, result: Any, limit: ratelimit.Limit | None, bucket: str) -> rows.Outcome:
    if isinstance(result, PushResult):
        return rows.sent(
            delivery,
            line_request_id=result.request_id,
            line_accepted_request_id=result.accepted_request_id,
            line_message_ids=result.sent_message_ids,
        )
    if isinstance(result, tokens.IntegrationNotLinked):
        return rows.skipped(delivery, rules.REASON_UNLINKED)
    if isinstance(result, LineError):
        request: RequestId = {"line_request_id": result.request_id} if result.request_id else {}
        if result.kind == LineErrorKind.QUOTA_EXHAUSTED:
            return rows.failed(delivery, rules.REASON_QUOTA, **request)
        if result.kind == LineErrorKind.RATE_LIMITED:
            if limit is not None and bucket:
                ratelimit.penalise(bucket, limit, seconds=RATE_LIMITED_PAUSE_SECONDS)
            return rows.throttled(delivery, "LINEのレート制限のため再試行します", **request)
        if result.transient:
            where = f"HTTP {result.status}" if result.status else "応答なし"
            return rows.retry_or_fail(delivery, f"LINEの一時的なエラーのため再試行します（{where}）", **request)
        if result.kind in (LineErrorKind.UNAUTHORIZED, LineErrorKind.INVALID_CREDENTIALS):
            # INVALID_CREDENTIALS: the channel secret no longer mints tokens (reissued in the console).
            return rows.failed(delivery, rules.REASON_LINE_AUTH, **request)
        detail = result.message + (f"（{'; '.join(result.details)}）" if result.details else "")
        return rows.failed(delivery, f"LINEが送信を受け付けませんでした：{detail}", **request)
    log.exception("unexpected error pushing delivery %s", delivery.id, exc_info=result)
    return rows.retry_or_fail(delivery, "予期しないエラーのため再試行します")


@dataclass
class Pending:
    """A batch whose pushes are in flight: `finish` waits for them and writes every outcome."""

    send_id: int
    outcomes: list[rows.Outcome] = field(default_factory=list)
    futures: list[tuple[Delivery, Future]] = field(default_factory=list)
    limit: ratelimit.Limit | None = None
    bucket: str = ""


def start(batch: list[Delivery]) -> Pending:
    """Judge the rules, render and store first attempts, and submit the pushes (paced by the
    bucket). Returns at once: the drain claims its next batch while these pushes are in flight."""
    send = batch[0].send
    pending = Pending(send_id=send.pk)
    integration = rules.integration_for(send.company_id)
    if integration is None or not integration.is_linked:
        pending.outcomes = [rows.skipped(d, rules.REASON_UNLINKED) for d in batch]
        return pending

    accounts = rules.line_accounts_by_candidate(send.company_id, [d.candidate_id for d in batch if d.candidate_id])
    scope = rendering.scope_of(send)  # one per batch: context objects load once
    ready: list[Delivery] = []
    rendered: list[Delivery] = []
    for delivery in batch:
        try:
            outcome = _prepare(delivery, accounts, rendered, scope)
        except Exception:
            log.exception("LINE delivery %s could not be prepared", delivery.id)
            outcome = rows.failed(delivery, rules.REASON_UNEXPECTED)
        if outcome is None:
            ready.append(delivery)
        else:
            pending.outcomes.append(outcome)
    rows.persist_prepared(rendered, ["line_texts", "address"])

    if ready:
        try:
            tokens.channel_token(integration)  # mint (or load) once here, not in every thread
        except tokens.IntegrationNotLinked:
            pending.outcomes.extend(rows.skipped(d, rules.REASON_UNLINKED) for d in ready)
            ready = []
        except LineError as exc:
            pending.outcomes.extend(
                classify(d, exc, None, "") if exc.permanent else rows.retry_or_fail(d, str(exc)) for d in ready
            )
            ready = []
        except Exception:
            log.exception("minting the LINE token for send %s failed", send.pk)
            pending.outcomes.extend(rows.retry_or_fail(d, rules.REASON_UNEXPECTED) for d in ready)
            ready = []
    if ready:
        _submit(pending, integration, ready, scope)
    return pending


def _prepare(
    delivery: Delivery, accounts: dict[int, tuple[str, str]], rendered: list[Delivery], scope: SendScope
) -> rows.Outcome | None:
    """None when the delivery may be pushed; else its outcome. A first attempt fixes the
    text and the address here (and joins `rendered`, to be stored before any push)."""
    if delivery.candidate_id is None:
        return rows.skipped(delivery, rules.REASON_CANDIDATE_DELETED)
    user_id, reason = rules.line_target(
        accounts.get(delivery.candidate_id), recipient_kind=delivery.recipient_kind, linked=True
    )
    if reason:
        return rows.skipped(delivery, reason)
    if delivery.line_texts is None or not delivery.address:
        try:
            delivery.line_texts = rendering.render_delivery(delivery, scope).line_texts
        except ValueError:
            return rows.failed(delivery, "LINEで送信できる文字数（5,000文字×5通）を超えています")
        delivery.address = user_id
        rendered.append(delivery)
    return None


def finish(pending: Pending) -> None:
    for delivery, future in pending.futures:
        try:
            pushed = future.result()
            outcome = classify(delivery, pushed.result, pending.limit, pending.bucket)
            outcome.attempt = attempt_of(pushed)
        except Exception:
            # It may have been pushed: try again under the same retry key (LINE answers 409
            # if it was) rather than calling it failed.
            log.exception("LINE delivery %s: the push result could not be recorded", delivery.id)
            outcome = rows.retry_or_fail(delivery, rules.REASON_UNEXPECTED)
        pending.outcomes.append(outcome)
    rows.apply_outcomes(pending.outcomes)
    for reason in FAIL_FAST:
        if any(o.reason == reason for o in pending.outcomes):
            failed = rows.fail_remaining(pending.send_id, Channel.LINE, reason)
            log.warning("LINE send %s: %s; %d further deliveries failed fast", pending.send_id, reason, failed)


def _submit(pending: Pending, integration: LineIntegration, ready: list[Delivery], scope: SendScope) -> None:
    pending.limit = limit = ratelimit.line_push_limit()
    pending.bucket = bucket = ratelimit.line_key(integration.messaging_channel_id)
    pool = _pool()
    index = 0
    while index < len(ready):
        chunk = ready[index : index + CHUNK]
        try:
            granted = ratelimit.take(bucket, len(chunk), limit, max_wait=2.0)
        except ratelimit.Unavailable:
            log.warning("LINE send %s: Redis is unreachable; %d pushes put back", pending.send_id, len(ready) - index)
            for delivery in ready[index:]:
                pending.outcomes.append(rows.requeued(delivery, REASON_REDIS_DOWN, retry_in=REDIS_DOWN_RETRY_SECONDS))
            break
        if granted == 0:
            # Our own bucket is empty for a while: put the rest back without spending an attempt.
            for delivery in ready[index:]:
                pending.outcomes.append(rows.requeued(delivery, "送信数の上限を調整中です", retry_in=1.0))
            break
        for delivery in chunk[:granted]:
            texts = _with_links(delivery, scope, pending)
            if texts is not None:
                pending.futures.append((delivery, pool.submit(_push, integration, delivery, texts)))
        index += granted


def _with_links(delivery: Delivery, scope: SendScope, pending: Pending) -> list[str] | None:
    """The stored texts with their personal links minted (on this thread: minting writes the
    link's hash). The same URLs on every attempt, so a retried push is identical. None (and
    an outcome for the delivery) when minting failed."""
    try:
        recipient = rendering.recipient_of(delivery, scope)
        now = timezone.now()
        return [rendering.fill_links(text, recipient, now) for text in delivery.line_texts or []]
    except Exception:
        log.exception("LINE delivery %s: its links could not be minted", delivery.id)
        pending.outcomes.append(rows.retry_or_fail(delivery, rules.REASON_UNEXPECTED))
        return None
