"""The delivery pipeline's shared machinery: claim rows in bulk, write results in bulk,
retry timing, waking workers, the sweeper, and progress counts.

How a send flows:
1. `compose.create_send` writes Send + Messages + Deliveries in one transaction and, on
   commit, enqueues a few `drain(send, channel)` tasks (more for big sends, so both worker
   processes share the work).
2. A drain task loops: claim up to `batch` due rows of that send and channel
   (`SELECT … FOR UPDATE SKIP LOCKED`, then `UPDATE … SET status='sending'` with a lease),
   hand them to the channel's processor (LINE pushes run on a thread pool), write every
   outcome back with one bulk update, repeat. It stops after ~50 s and re-enqueues itself,
   so no task runs long (the visibility timeout never comes near).
3. A transient failure puts the row back to `queued` with `next_attempt_at` (exponential
   backoff with jitter, capped at 300 s). A drain sleeps through short waits, re-enqueues
   itself with a short countdown for longer ones; the sweeper picks up anything else.
4. The sweeper (beat, every 30 s) puts `sending` rows whose lease expired back to `queued`
   (the worker died: LINE is safe to re-push under the same retry key, email is resent,
   at-least-once), or fails them once they have used up their attempts (a row that kills its
   worker every time must not cycle forever), and wakes drains for due `queued` rows whose
   wake-up was lost.

A worker only ever writes rows it still holds: every write-back is conditional on
`status='sending' AND sending_since=<its claim>`, so a worker whose lease expired (and whose
rows another worker re-claimed) cannot overwrite the newer outcome.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from hrmos import retry
from messaging import bulk
from messaging.models import Channel, Delivery, Send

log = logging.getLogger(__name__)

DRAIN_BUDGET_SECONDS = 50.0
MAX_COUNTDOWN = 300  # retries never wait near the visibility timeout; longer waits are rows
SHORT_WAIT = 3.0  # a drain sleeps through waits this short instead of re-enqueueing
MAX_ATTEMPTS = 10  # with the backoff below: ~20 minutes of retrying, far inside LINE's 24 h
RETRY_BASE_SECONDS = 2.0
# LINE's rate-limit 429s are retried outside MAX_ATTEMPTS, with their own cap: at most
# 60 waits of at most MAX_COUNTDOWN (5 hours), still far inside LINE's 24 h retry-key memory.
MAX_THROTTLED = 60
REASON_CRASHED = "処理中に異常終了しました"


def lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "MESSAGING_LEASE_SECONDS", 600))


def stale_queued_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "MESSAGING_STALE_QUEUED_SECONDS", 120))


BATCH = {Channel.LINE: 100, Channel.EMAIL: 50}
PARALLEL_DRAINS = {Channel.LINE: 2, Channel.EMAIL: 2}

NOT_FINAL = (Delivery.Status.SCHEDULED, Delivery.Status.QUEUED, Delivery.Status.SENDING)


def backoff(attempts: int, *, base: float | None = None, cap: float | None = None) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base·2^(n-1))."""
    return retry.backoff(
        attempts,
        base=RETRY_BASE_SECONDS if base is None else base,
        cap=MAX_COUNTDOWN if cap is None else cap,
    )


# --- waking workers -----------------------------------------------------------------------


def parallelism(channel: str, count: int) -> int:
    return max(1, min(PARALLEL_DRAINS.get(channel, 1), math.ceil(count / BATCH.get(channel, 50))))


def wake_on_commit(send_id: int, channels: Iterable[str], count: int) -> None:
    """Enqueue the drains on commit, LINE's first: LINE is paced by the platform (rate limit,
    HTTP round trips) while email is bound by our own CPU, so with a small worker pool LINE
    goes first and email follows as workers free up (or in parallel on a bigger pool).

    The rows are committed by then, so a publish that fails (the broker is down) must not
    fail the caller: the recruiter's send exists and the sweeper wakes it later. Celery's
    `delay_on_commit` registers a non-robust callback, whose exception would escape the
    request after COMMIT (a 500 for a saved send) and skip the callbacks after it."""
    for channel in sorted(channels, key=lambda c: c != Channel.LINE):
        for _ in range(parallelism(channel, count)):
            _publish_on_commit(send_id, channel)


def _publish_on_commit(send_id: int, channel: str) -> None:
    def publish_drain() -> None:  # a named function: Django logs robust callbacks by __qualname__
        from messaging import tasks

        try:
            tasks.drain.delay(send_id, channel)
        except Exception:
            log.exception("could not publish the drain of send %s (%s); the sweeper will wake it", send_id, channel)

    transaction.on_commit(publish_drain, robust=True)


def wake_later(send_id: int, channel: str, countdown: float) -> None:
    """Re-enqueue a drain after a short wait; deduplicated so retries don't pile up tasks."""
    from messaging import tasks

    countdown = max(1, min(MAX_COUNTDOWN, math.ceil(countdown)))
    if cache.add(f"messaging:wake:{send_id}:{channel}", 1, timeout=countdown):
        tasks.drain.apply_async((send_id, channel), countdown=countdown)


# --- claiming and writing back ------------------------------------------------------------


def _due(now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def claim(send_id: int, channel: str, limit: int, *, now: datetime | None = None) -> list[Delivery]:
    """Take up to `limit` due queued rows for this worker: status `sending` under a lease.

    On PostgreSQL, SKIP LOCKED lets concurrent drains take disjoint rows without waiting; the
    UPDATE re-checks `status='queued'` so a row is never claimed twice. (SQLite serialises
    writers, which gives the same guarantee.)
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(send_id=send_id, channel=channel, status=Delivery.Status.QUEUED)
            .filter(_due(now))
            .order_by()  # any due rows will do: no sort (Meta.ordering) under the lock
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        Delivery.objects.filter(id__in=ids, status=Delivery.Status.QUEUED).update(
            status=Delivery.Status.SENDING,
            attempts=F("attempts") + 1,
            sending_since=now,
            lease_expires_at=now + lease(),
            next_attempt_at=None,
            updated_at=now,
        )
        Send.objects.filter(pk=send_id, status=Send.Status.QUEUED).update(
            status=Send.Status.IN_PROGRESS, started_at=now, updated_at=now
        )
    return list(
        Delivery.objects.filter(id__in=ids, status=Delivery.Status.SENDING).select_related(
            "send", "send__company", "candidate", "candidate__agent", "message"
        )
    )


@dataclass
class Outcome:
    """What happened to one claimed delivery; `apply_outcomes` writes them in bulk."""

    delivery: Delivery
    status: str
    reason: str = ""
    retry_in: float | None = None  # transient failure: try again after this many seconds
    fields: dict[str, Any] = field(default_factory=dict)


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
    return Outcome(
        delivery,
        Delivery.Status.QUEUED,
        reason,
        retry_in=backoff(count),
        fields={"attempts": max(delivery.attempts - 1, 0), "throttled": count, **fields},
    )


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


def fail_remaining(send_id: int, channel: str, reason: str, *, now: datetime | None = None) -> int:
    """Fail every not-yet-sent row of this send and channel at once (e.g. LINE's monthly
    quota is exhausted: every further push would be refused the same way)."""
    now = now or timezone.now()
    return Delivery.objects.filter(
        send_id=send_id, channel=channel, status__in=[Delivery.Status.QUEUED, Delivery.Status.SCHEDULED]
    ).update(status=Delivery.Status.FAILED, reason=reason, next_attempt_at=None, updated_at=now)


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


# --- the drain loop -----------------------------------------------------------------------


def drain(send_id: int, channel: str, *, budget: float = DRAIN_BUDGET_SECONDS) -> int:
    """Deliver this send's due rows on one channel until none are left or the budget is
    spent. Safe to run any number of times, concurrently: claims are exclusive.

    Pipelined: the next batch is claimed and prepared while the previous batch's pushes are
    still in flight, so the HTTP pool never idles during the database work."""
    from messaging import email_delivery, line_delivery

    limit = BATCH.get(channel, 50)
    deadline = time.monotonic() + budget
    handled = 0
    pending = None  # LINE: the previous batch, its pushes in flight
    try:
        while True:
            if time.monotonic() >= deadline:
                from messaging import tasks

                tasks.drain.delay(send_id, channel)  # continue in a fresh task
                break
            batch = claim(send_id, channel, limit)
            if batch and channel == Channel.LINE:
                started = line_delivery.start(batch)
                if pending is not None:
                    line_delivery.finish(pending)
                pending = started
                handled += len(batch)
                continue
            if batch:
                email_delivery.process(batch)  # synchronous: one SMTP connection per batch
                handled += len(batch)
                continue
            if pending is not None:
                line_delivery.finish(pending)  # its retries may be due now: look again
                pending = None
                continue
            wait = next_due_in(send_id, channel)
            if wait is None:
                break
            if wait <= SHORT_WAIT and time.monotonic() + wait < deadline:
                time.sleep(max(wait, 0.05))
                continue
            wake_later(send_id, channel, wait)
            break
    finally:
        if pending is not None:
            line_delivery.finish(pending)
    finish_send_if_complete(send_id)
    return handled


# --- the sweeper --------------------------------------------------------------------------


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Recover rows whose worker died (lease expired) and wake drains for due rows nobody
    is working on (an on_commit publish lost, a re-enqueue lost with a Redis restart)."""
    now = now or timezone.now()
    with transaction.atomic():
        stuck = list(
            Delivery.objects.filter(status=Delivery.Status.SENDING, lease_expires_at__lt=now)
            .order_by()
            .select_for_update(skip_locked=True)
            .values_list("id", "send_id", "attempts")[:5000]
        )
        # A row whose worker died on every one of its attempts (it may be what kills it) ends here.
        spent = {pk: send_id for pk, send_id, attempts in stuck if attempts >= MAX_ATTEMPTS}
        failed_rows = Delivery.objects.filter(id__in=list(spent), status=Delivery.Status.SENDING).update(
            status=Delivery.Status.FAILED,
            reason=REASON_CRASHED,
            lease_expires_at=None,
            sending_since=None,
            next_attempt_at=None,
            updated_at=now,
        )
        requeued = (
            Delivery.objects.filter(id__in=[pk for pk, _, _ in stuck if pk not in spent])
            .filter(status=Delivery.Status.SENDING)
            .update(status=Delivery.Status.QUEUED, lease_expires_at=None, sending_since=None, next_attempt_at=now)
        )
    if requeued:
        log.warning("sweeper: %d deliveries were stuck in sending past their lease; re-queued", requeued)
    if failed_rows:
        log.error("sweeper: %d deliveries were stuck in sending after %d attempts; failed", failed_rows, MAX_ATTEMPTS)
        for send_id in set(spent.values()):
            finish_send_if_complete(send_id, now=now)
    stale = now - stale_queued_after()
    due = (
        Delivery.objects.filter(status=Delivery.Status.QUEUED)
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, updated_at__lt=stale))
        .order_by()  # no Meta.ordering columns in the DISTINCT
        .values("send_id", "channel")
        .distinct()[:500]
    )
    woken = 0
    from messaging import tasks

    for row in due:
        if cache.add(f"messaging:sweep:{row['send_id']}:{row['channel']}", 1, timeout=20):
            tasks.drain.delay(row["send_id"], row["channel"])
            woken += 1
    # Sends whose rows all ended while their last drain died before noticing.
    for send_id in Send.objects.filter(status=Send.Status.IN_PROGRESS, updated_at__lt=stale).values_list(
        "pk", flat=True
    )[:500]:
        finish_send_if_complete(send_id, now=now)
    return {"requeued": requeued, "woken": woken, "failed": failed_rows}


# --- progress -----------------------------------------------------------------------------


@dataclass
class ChannelProgress:
    channel: str
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def finished(self) -> int:
        return sum(self.count(s) for s in Delivery.FINAL)

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.finished * 100 / self.total)

    def percent_of(self, status: str) -> float:
        return 0.0 if not self.total else round(self.count(status) * 100 / self.total, 2)

    @property
    def segments(self) -> list[tuple[str, float, str]]:
        """(status, percent, bar colour) for the stacked progress bar."""
        colours = [
            (Delivery.Status.SENT, "bg-success"),
            (Delivery.Status.FAILED, "bg-danger"),
            (Delivery.Status.SKIPPED, "bg-secondary"),
            (Delivery.Status.CANCELLED, "bg-secondary"),
        ]
        return [(status, self.percent_of(status), colour) for status, colour in colours if self.count(status)]

    @property
    def label(self) -> str:
        return Channel(self.channel).label


def progress(send: Send) -> list[ChannelProgress]:
    """N of M per channel, and counts per status: one GROUP BY over the send's rows."""
    by_channel: dict[str, ChannelProgress] = {}
    for row in Delivery.objects.filter(send=send).values("channel", "status").annotate(n=Count("id")):
        entry = by_channel.setdefault(row["channel"], ChannelProgress(row["channel"]))
        entry.counts[row["status"]] = row["n"]
        entry.total += row["n"]
    order = [Channel.EMAIL, Channel.LINE]
    return [by_channel[c] for c in order if c in by_channel]


def site_domain() -> str:
    from urllib.parse import urlsplit

    return urlsplit(settings.SITE_URL).hostname or "localhost"
