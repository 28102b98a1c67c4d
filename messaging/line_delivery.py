"""Pushing a batch of claimed LINE deliveries through `line_integration`.

Each push carries `X-Line-Retry-Key` = the delivery's UUID, on every attempt, with the text
rendered at the first attempt, so a retry after "accepted, then 500" is refused by LINE with a
409 that we record as sent (with the original message ids). Pushes run on a thread pool (HTTP
waits dominate); the database work stays on the calling thread: one claim before, one bulk
update after, and `start`/`finish` let the drain claim and prepare the next batch while this
one's pushes are in flight. A per-channel token bucket (ratelimit.py) paces the whole pool.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections

from line_integration import client, tokens
from line_integration.client import LineError, LineErrorKind, PushResult
from line_integration.models import LineIntegration
from messaging import pipeline, ratelimit, rendering, rules
from messaging.compose import context_for
from messaging.models import Channel, Delivery

log = logging.getLogger(__name__)

CHUNK = 25  # tokens taken per round; keeps bursts small

_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    pool = _pools.get(os.getpid())  # a forked worker must not reuse its parent's threads
    if pool is None:
        pool = ThreadPoolExecutor(
            max_workers=int(getattr(settings, "LINE_PUSH_THREADS", 16)), thread_name_prefix="line-push"
        )
        _pools[os.getpid()] = pool
    return pool


def _push(integration: LineIntegration, delivery: Delivery) -> PushResult | Exception:
    try:
        return tokens.call_with_token(
            integration, client.push_text_messages, delivery.address, delivery.line_texts, delivery.id
        )
    except Exception as exc:  # every outcome is classified on the calling thread
        return exc
    finally:
        connections.close_all()  # a 401 re-mint touches the database from this thread


def _render(delivery: Delivery) -> list[str]:
    send = delivery.send
    rendered = rendering.render_for_recipient(
        send.subject,
        send.body,
        context_for(delivery.candidate, send.company, send.sender_name),
        friend_invitation=send.include_friend_invitation,
    )
    return rendered.line_texts


def classify(delivery: Delivery, result: Any, limit: ratelimit.Limit | None, bucket: str) -> pipeline.Outcome:
    if isinstance(result, PushResult):
        return pipeline.sent(
            delivery,
            line_request_id=result.request_id,
            line_accepted_request_id=result.accepted_request_id,
            line_message_ids=result.sent_message_ids,
        )
    if isinstance(result, tokens.IntegrationNotLinked):
        return pipeline.skipped(delivery, rules.REASON_UNLINKED)
    if isinstance(result, LineError):
        request = {"line_request_id": result.request_id} if result.request_id else {}
        if result.kind == LineErrorKind.QUOTA_EXHAUSTED:
            return pipeline.failed(delivery, rules.REASON_QUOTA, **request)
        if result.kind == LineErrorKind.RATE_LIMITED:
            if limit is not None and bucket:
                ratelimit.penalise(bucket, limit, seconds=1.0)
            return pipeline.retry_or_fail(delivery, "LINEのレート制限のため再試行します", **request)
        if result.transient:
            where = f"HTTP {result.status}" if result.status else "応答なし"
            return pipeline.retry_or_fail(delivery, f"LINEの一時的なエラーのため再試行します（{where}）", **request)
        if result.kind == LineErrorKind.UNAUTHORIZED:
            return pipeline.failed(delivery, "LINEの認証に失敗しました。LINE連携の設定をご確認ください。", **request)
        detail = result.message + (f"（{'; '.join(result.details)}）" if result.details else "")
        return pipeline.failed(delivery, f"LINEが送信を受け付けませんでした：{detail}", **request)
    log.exception("unexpected error pushing delivery %s", delivery.id, exc_info=result)
    return pipeline.retry_or_fail(delivery, "予期しないエラーのため再試行します")


@dataclass
class Pending:
    """A batch whose pushes are in flight: `finish` waits for them and writes every outcome."""

    send_id: int
    outcomes: list[pipeline.Outcome] = field(default_factory=list)
    futures: list[tuple[Delivery, Future]] = field(default_factory=list)
    limit: ratelimit.Limit | None = None
    bucket: str = ""


def start(batch: list[Delivery]) -> Pending:
    """Judge the rules, render first attempts, and submit the pushes (paced by the bucket).
    Returns at once: the drain claims its next batch while these pushes are in flight."""
    send = batch[0].send
    pending = Pending(send_id=send.pk)
    integration = rules.integration_for(send.company_id)
    if integration is None or not integration.is_linked:
        pending.outcomes = [pipeline.skipped(d, rules.REASON_UNLINKED) for d in batch]
        return pending

    accounts = rules.line_accounts_by_candidate(send.company_id, [d.candidate_id for d in batch if d.candidate_id])
    ready: list[Delivery] = []
    for delivery in batch:
        if delivery.candidate_id is None:
            pending.outcomes.append(pipeline.skipped(delivery, rules.REASON_CANDIDATE_DELETED))
            continue
        user_id, reason = rules.line_target(
            accounts.get(delivery.candidate_id), recipient_kind=delivery.recipient_kind, linked=True
        )
        if reason:
            pending.outcomes.append(pipeline.skipped(delivery, reason))
            continue
        if delivery.line_texts is None or not delivery.address:
            # First attempt: fix the content and the address for every later retry.
            try:
                delivery.line_texts = _render(delivery)
            except ValueError:
                pending.outcomes.append(
                    pipeline.failed(delivery, "LINEで送信できる文字数（5,000文字×5通）を超えています")
                )
                continue
            delivery.address = user_id
        ready.append(delivery)

    if ready:
        try:
            tokens.channel_token(integration)  # mint (or load) once here, not in every thread
        except tokens.IntegrationNotLinked:
            pending.outcomes.extend(pipeline.skipped(d, rules.REASON_UNLINKED) for d in ready)
            ready = []
        except LineError as exc:
            limit = ratelimit.line_push_limit()
            pending.outcomes.extend(
                classify(d, exc, limit, "") if exc.permanent else pipeline.retry_or_fail(d, str(exc)) for d in ready
            )
            ready = []
    if ready:
        _submit(pending, integration, ready)
    return pending


def finish(pending: Pending) -> None:
    for delivery, future in pending.futures:
        pending.outcomes.append(classify(delivery, future.result(), pending.limit, pending.bucket))
    pipeline.apply_outcomes(pending.outcomes)
    if any(o.reason == rules.REASON_QUOTA for o in pending.outcomes):
        failed = pipeline.fail_remaining(pending.send_id, Channel.LINE, rules.REASON_QUOTA)
        log.warning(
            "LINE monthly quota exhausted for send %s: %d further deliveries failed fast", pending.send_id, failed
        )


def process(batch: list[Delivery]) -> None:
    finish(start(batch))


def _submit(pending: Pending, integration: LineIntegration, ready: list[Delivery]) -> None:
    pending.limit = limit = ratelimit.line_push_limit()
    pending.bucket = bucket = ratelimit.line_key(integration.messaging_channel_id)
    pool = _pool()
    index = 0
    while index < len(ready):
        chunk = ready[index : index + CHUNK]
        granted = ratelimit.take(bucket, len(chunk), limit, max_wait=2.0)
        if granted == 0:
            # Our own bucket is empty for a while: put the rest back without spending an attempt.
            for delivery in ready[index:]:
                pending.outcomes.append(
                    pipeline.Outcome(
                        delivery,
                        Delivery.Status.QUEUED,
                        "送信数の上限を調整中です",
                        retry_in=1.0,
                        fields={"attempts": max(delivery.attempts - 1, 0)},
                    )
                )
            break
        for delivery in chunk[:granted]:
            pending.futures.append((delivery, pool.submit(_push, integration, delivery)))
        index += granted
