"""The outbox as a row queue (`hrmos.queue`): claim deliveries in bulk, write outcomes in bulk.

A worker only ever writes rows it still holds: every write-back is conditional on
`status='sending' AND sending_since=<its claim>`, so a worker whose lease expired (and whose
rows another worker re-claimed) cannot overwrite the newer outcome.

Retry policy: a transient failure puts the row back to `queued` with `next_attempt_at`
(exponential backoff with jitter, capped at `MAX_COUNTDOWN`) until `MAX_ATTEMPTS`; LINE's
rate-limit 429s are counted apart (`throttled`), since being throttled says nothing about the
message.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from hrmos.queue import RowQueue
from messaging import bulk, live
from messaging.models import Channel, Delivery, DeliveryAttempt, Send

log = logging.getLogger(__name__)

MAX_COUNTDOWN = 300  # retries never wait near the visibility timeout; longer waits are rows
MAX_ATTEMPTS = 10  # with the backoff below: ~20 minutes of retrying, far inside LINE's 24 h
RETRY_BASE_SECONDS = 2.0
# LINE's rate-limit 429s are retried outside MAX_ATTEMPTS, with their own cap: at most
# 60 waits of at most MAX_COUNTDOWN (5 hours), still far inside LINE's 24 h retry-key memory.
MAX_THROTTLED = 60
REASON_CRASHED = "処理中に異常終了しました"

BATCH: dict[str, int] = {Channel.LINE: 100, Channel.EMAIL: 50}
NOT_FINAL = (Delivery.Status.SCHEDULED, Delivery.Status.QUEUED, Delivery.Status.SENDING)


def lease() -> timedelta:
    return timedelta(seconds=settings.MESSAGING_LEASE_SECONDS)


class Held:
    """The rows one drain holds right now (claimed, outcome not yet written), for its
    heartbeat to renew: claims are added when taken and dropped once their outcomes are
    written. Only rows still `sending` under this drain's claim are renewed."""

    def __init__(self) -> None:
        self._claims: dict[datetime, set[uuid.UUID]] = defaultdict(set)
        self._lock = threading.Lock()

    def add(self, deliveries: Iterable[Delivery]) -> None:
        with self._lock:
            for delivery in deliveries:
                if delivery.sending_since is not None:
                    self._claims[delivery.sending_since].add(delivery.id)

    def drop(self, deliveries: Iterable[Delivery]) -> None:
        with self._lock:
            for delivery in deliveries:
                for claimed_at, ids in list(self._claims.items()):
                    ids.discard(delivery.id)
                    if not ids:
                        del self._claims[claimed_at]

    def renew(self, now: datetime) -> int:
        with self._lock:
            claims = [(claimed_at, list(ids)) for claimed_at, ids in self._claims.items()]
        held = Delivery.objects.filter(status=Delivery.Status.SENDING)
        return sum(
            OUTBOX.renew(held.filter(sending_since=claimed_at, id__in=ids), now=now) for claimed_at, ids in claims
        )


def stale_queued_after() -> timedelta:
    return timedelta(seconds=settings.MESSAGING_STALE_QUEUED_SECONDS)


OUTBOX = RowQueue(
    Delivery,
    lease_field="lease_expires_at",
    lease=lease,
    max_attempts=MAX_ATTEMPTS,
    backoff_base=RETRY_BASE_SECONDS,
    backoff_cap=MAX_COUNTDOWN,
)


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base·2^(n-1))."""
    return OUTBOX.backoff(attempts)


def claim(send_id: int, channel: str, limit: int, *, now: datetime | None = None) -> list[Delivery]:
    """Take up to `limit` due queued rows of this send and channel: status `sending` under a lease."""
    now = now or timezone.now()
    ready = Delivery.objects.filter(send_id=send_id, channel=channel, status=Delivery.Status.QUEUED).filter(
        OUTBOX.due(now)
    )
    ids = OUTBOX.claim(
        ready,
        limit,
        now=now,  # any due rows will do: no sort (Meta.ordering) under the lock
        status=Delivery.Status.SENDING,
        sending_since=now,
        next_attempt_at=None,
        updated_at=now,
    )
    if not ids:
        return []
    Send.objects.filter(pk=send_id, status=Send.Status.QUEUED).update(
        status=Send.Status.IN_PROGRESS, started_at=now, updated_at=now
    )
    claimed = list(
        Delivery.objects.filter(id__in=ids, status=Delivery.Status.SENDING).select_related(
            "send", "send__company", "candidate", "candidate__agent", "message"
        )
    )
    live.changed(candidates={delivery.candidate_id for delivery in claimed})
    return claimed


@dataclass
class Attempt:
    """What one try met on the wire, kept as a DeliveryAttempt with its outcome."""

    started_at: datetime
    duration_ms: int
    http_status: int | None = None
    line_request_id: str = ""
    smtp_response: str = ""
    error: str = ""


@dataclass
class Outcome:
    """What happened to one claimed delivery; `apply_outcomes` writes them in bulk."""

    delivery: Delivery
    status: str
    reason: str = ""
    retry_in: float | None = None  # transient failure: try again after this many seconds
    fields: dict[str, Any] = field(default_factory=dict)
    attempt: Attempt | None = None  # None when nothing went out (skipped, put back unsent)


ATTEMPT_OUTCOMES: dict[str, str] = {
    Delivery.Status.SENT: DeliveryAttempt.Outcome.SENT,
    Delivery.Status.QUEUED: DeliveryAttempt.Outcome.RETRY,
    Delivery.Status.FAILED: DeliveryAttempt.Outcome.FAILED,
    Delivery.Status.SKIPPED: DeliveryAttempt.Outcome.FAILED,
}


WRITTEN_FIELDS = [
    "status",
    "attempts",
    "reason",
    "next_attempt_at",
    "lease_expires_at",
    "sending_since",
    "sent_at",
    "address",
    "line_request_id",
    "line_accepted_request_id",
    "line_message_ids",
    "rendered_subject",
    "rendered_body",
    "line_texts",
    "throttled",
    "updated_at",
]


def sent(delivery: Delivery, **fields: Any) -> Outcome:
    return Outcome(delivery, Delivery.Status.SENT, fields=fields)


def skipped(delivery: Delivery, reason: str) -> Outcome:
    return Outcome(delivery, Delivery.Status.SKIPPED, reason)


def failed(delivery: Delivery, reason: str, **fields: Any) -> Outcome:
    return Outcome(delivery, Delivery.Status.FAILED, reason, fields=fields)


def requeued(delivery: Delivery, reason: str, *, retry_in: float, **fields: Any) -> Outcome:
    """Back to the queue without spending the claim's attempt (nothing was tried)."""
    return Outcome(
        delivery,
        Delivery.Status.QUEUED,
        reason,
        retry_in=retry_in,
        fields={"attempts": max(delivery.attempts - 1, 0), **fields},
    )


def retry_or_fail(delivery: Delivery, reason: str, *, wait: float | None = None, **fields: Any) -> Outcome:
    """A transient failure: back to the queue with backoff, or failed after MAX_ATTEMPTS."""
    if delivery.attempts >= MAX_ATTEMPTS:
        return failed(delivery, f"{reason}（{delivery.attempts}回試行しました）", **fields)
    return Outcome(
        delivery,
        Delivery.Status.QUEUED,
        reason,
        retry_in=wait if wait is not None else backoff(delivery.attempts),
        fields=fields,
    )


def throttled(delivery: Delivery, reason: str, **fields: Any) -> Outcome:
    """The platform said "too many requests": back to the queue without spending an attempt
    (the claim's is given back), with a backoff that grows with the 429s met so far; failed
    only after MAX_THROTTLED of them, far inside LINE's 24 h retry-key memory."""
    count = delivery.throttled + 1
    if count > MAX_THROTTLED:
        return failed(delivery, f"{reason}（レート制限が{MAX_THROTTLED}回続きました）", throttled=count, **fields)
    return requeued(delivery, reason, retry_in=backoff(count), throttled=count, **fields)


def write_claimed(
    deliveries: Sequence[Delivery], field_names: Sequence[str], *, claims: Sequence[datetime | None] | None = None
) -> int:
    """Write fields of claimed rows that are still ours: `status='sending'` under the claim
    they were taken with (`claims`, by default their `sending_since`). Returns how many were
    written; rows another worker took over since are left as they are."""
    if claims is None:
        claims = [delivery.sending_since for delivery in deliveries]
    by_claim: dict[datetime | None, list[Delivery]] = defaultdict(list)
    for delivery, claimed_at in zip(deliveries, claims, strict=True):
        by_claim[claimed_at].append(delivery)  # one claim per batch, as a rule
    written = sum(
        bulk.update_rows(
            Delivery, rows, field_names, where={"status": Delivery.Status.SENDING, "sending_since": claimed_at}
        )
        for claimed_at, rows in by_claim.items()
    )
    if written < len(deliveries):
        log.warning(
            "%d of %d deliveries were no longer ours (lease expired, claimed again): not written",
            len(deliveries) - written,
            len(deliveries),
        )
    return written


def persist_prepared(deliveries: Sequence[Delivery], field_names: Sequence[str]) -> None:
    """Store what a first attempt fixed (rendered content, address) before anything is sent:
    one bulk UPDATE for the batch, so a retry after a crash sends byte-identical content."""
    if not deliveries:
        return
    now = timezone.now()
    for delivery in deliveries:
        delivery.updated_at = now
    write_claimed(deliveries, [*field_names, "updated_at"])


def apply_outcomes(outcomes: list[Outcome], *, now: datetime | None = None) -> None:
    """One bulk UPDATE for the whole batch (not a query per message), of rows still ours."""
    if not outcomes:
        return
    now = now or timezone.now()
    claimed = [outcome.delivery.sending_since for outcome in outcomes]
    rows = []
    for outcome in outcomes:
        delivery = outcome.delivery
        delivery.status = outcome.status
        delivery.reason = outcome.reason[:500]
        for name, value in outcome.fields.items():
            setattr(delivery, name, value)
        delivery.lease_expires_at = None
        delivery.sending_since = None if outcome.status != Delivery.Status.SENDING else delivery.sending_since
        delivery.next_attempt_at = now + timedelta(seconds=outcome.retry_in) if outcome.retry_in is not None else None
        if outcome.status == Delivery.Status.SENT and delivery.sent_at is None:
            delivery.sent_at = now
        delivery.updated_at = now
        rows.append(delivery)
    write_claimed(rows, WRITTEN_FIELDS, claims=claimed)
    live.changed(candidates={delivery.candidate_id for delivery in rows})
    record_attempts(outcomes)


def record_attempts(outcomes: Sequence[Outcome]) -> None:
    """One row per try that went out, in one INSERT; written even when the delivery's own
    write-back was refused (a stale worker's push still happened)."""
    DeliveryAttempt.objects.bulk_create(
        [
            DeliveryAttempt(
                company_id=outcome.delivery.company_id,
                delivery_id=outcome.delivery.id,
                channel=outcome.delivery.channel,
                started_at=outcome.attempt.started_at,
                outcome=ATTEMPT_OUTCOMES[outcome.status],
                http_status=outcome.attempt.http_status,
                line_request_id=outcome.attempt.line_request_id[:64],
                smtp_response=outcome.attempt.smtp_response[:500],
                error=(outcome.attempt.error or (outcome.reason if outcome.status != Delivery.Status.SENT else ""))[
                    :1000
                ],
                duration_ms=outcome.attempt.duration_ms,
            )
            for outcome in outcomes
            if outcome.attempt is not None
        ]
    )


def fail_remaining(send_id: int, channel: str, reason: str, *, now: datetime | None = None) -> int:
    """Fail every not-yet-sent row of this send and channel at once (e.g. LINE's monthly
    quota is exhausted: every further push would be refused the same way)."""
    now = now or timezone.now()
    failed = Delivery.objects.filter(
        send_id=send_id, channel=channel, status__in=[Delivery.Status.QUEUED, Delivery.Status.SCHEDULED]
    ).update(status=Delivery.Status.FAILED, reason=reason, next_attempt_at=None, updated_at=now)
    if failed:
        live.changed(sends_of=Send.objects.filter(pk=send_id).values_list("company_id", flat=True))
    return failed


def finish_send_if_complete(send_id: int, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if Delivery.objects.filter(send_id=send_id, status__in=NOT_FINAL).exists():
        return False
    return bool(
        Send.objects.filter(pk=send_id, status__in=[Send.Status.QUEUED, Send.Status.IN_PROGRESS]).update(
            status=Send.Status.DONE, completed_at=now, updated_at=now
        )
    )


def next_due_in(send_id: int, channel: str, *, now: datetime | None = None) -> float | None:
    """Seconds until the next queued row of this send and channel is due; None when none."""
    now = now or timezone.now()
    soonest = (
        Delivery.objects.filter(send_id=send_id, channel=channel, status=Delivery.Status.QUEUED)
        .order_by(F("next_attempt_at").asc(nulls_first=True))
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if soonest is None:
        exists = Delivery.objects.filter(send_id=send_id, channel=channel, status=Delivery.Status.QUEUED).exists()
        return 0.0 if exists else None
    return max(0.0, (soonest - now).total_seconds())
