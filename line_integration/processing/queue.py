"""Processing stored webhook events: claim the row, dispatch by event type, record the outcome.

`event_handlers.HANDLERS` maps LINE's event `type` to a function `(LineWebhookEvent) ->
outcome`; this module decides who runs which row when, and records what came of it. Every
event is stored by the webhook before this runs; here nothing is ever dropped silently: each
row ends with `processed_at` and an outcome —

- "processed": the effect is applied (a timeline message, an unsend, content downloaded);
- "ignored": stored, deliberately no action (group/room sources, `mode: standby`, event types
  the ATS does not use, unknown future types), with the reason in `detail`;
- "unlinked": from a LINE user no candidate is linked to yet; kept, and processed again by
  `reconcile_user` when that user links (a message then appears on the candidate's timeline);
- "friend" / "blocked" / "stale" / "unlinked": follow/unfollow, from `friends.py`;
- "failed": the handler kept failing for `MAX_ATTEMPTS` tries (or its worker was killed that
  often), with the error in `detail`.

"content" is the one outcome that is not final (`processed_at` stays NULL): the message is on
the timeline and its image/video/audio/file is still to be downloaded, by `download_content`
in a task of its own per message. A download (up to 50 MB, up to 2 minutes) never holds up the
other events, nor other companies'.

How the work is shared:
- `process_pending(company)` drains one company's due events (the webhook wakes one task per
  company), claiming `BATCH` rows at a time, and stops after `BUDGET_SECONDS` of wall clock:
  the task then hands over to a fresh one, so a burst from one company waits in the queue
  behind the others' tasks instead of holding a worker for minutes.
- The table is a row queue (`hrmos.queue`, `EVENTS` below): a claim is a conditional UPDATE
  that sets a lease (`claimed_until`) and counts the attempt.
  The lease is short and a heartbeat thread renews it while the worker runs the batch (a
  download of minutes included), so no second worker takes a row while the first is alive,
  and the rows of a killed worker are claimable again one lease after its last beat; rows
  claimed but not started when the budget runs out (or the soft time limit strikes) are
  handed back at once.
- A handler that needs another try later (content still being prepared, LINE unreachable, a
  receiver that failed) raises or `Retry`s; the row gets `next_attempt_at` with jittered
  exponential backoff. After `MAX_ATTEMPTS` the row is failed. Rows
  whose worker was killed mid-claim are never claimed again once they reach `MAX_ATTEMPTS`;
  the sweeper (`sweep`) marks them failed with the reason.
- Celery's `SoftTimeLimitExceeded` is never taken for the event's own failure: it is re-raised
  so the task ends before the hard kill.

Idempotent by construction: claims are exclusive and every effect is idempotent too (messages
are unique per LINE message id), so running an event twice changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db.models import Q, QuerySet
from django.utils import timezone

from hrmos.models import Company
from hrmos.queue import Heartbeat, RowQueue
from hrmos.tenancy import company_pk
from line_integration.models import LineAccount, LineWebhookEvent
from line_integration.processing.handlers import CONTENT, UNLINKED, Retry, dispatch, download, tell_unavailable

logger = logging.getLogger(__name__)

# Renewed every third of it by the worker's heartbeat: a killed worker's rows are claimable
# again at most this long after its last beat.
LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 10  # with the jittered backoff below: 10 to 20 minutes of tries
EVENTS = RowQueue(
    LineWebhookEvent,
    lease_field="claimed_until",
    lease=lambda: LEASE,
    max_attempts=MAX_ATTEMPTS,
    backoff_base=5,
    backoff_cap=300,
)
BATCH = 10  # rows claimed at a time; what a drain out of budget hands back is at most this
BUDGET_SECONDS = 50.0  # a process_pending task's wall clock before it hands over to a fresh task
STALE_AFTER = timedelta(seconds=30)  # the sweeper's notion of a lost wake-up
SWEEP_LIMIT = 500  # rows (or companies) the sweeper handles per run
RECONCILED_TYPES = ("message", "unsend")  # follow/unfollow are friends.reconcile_account's

FAILED = LineWebhookEvent.FAILED
RETRY = "retry"  # not stored as an outcome: the row stays pending with next_attempt_at


@dataclass(frozen=True)
class Result:
    event_id: int
    outcome: str
    retry_in: float | None = None  # seconds, when outcome == RETRY
    # A company whose events became due again while this one ran (a user who linked meanwhile,
    # see _reconcile_if_linked_meanwhile): its processing must be woken.
    wake_company: int | None = None


# --- claiming and recording ---------------------------------------------------------------


def _due(now: datetime) -> Q:
    return (
        Q(processed_at__isnull=True)
        & Q(attempts__lt=MAX_ATTEMPTS)  # a row killed with its worker that often is the sweeper's
        & EVENTS.unleased(now)
        & EVENTS.due(now)
    )


def _write(event: LineWebhookEvent, **fields: object) -> None:
    LineWebhookEvent.objects.filter(pk=event.pk).update(claimed_until=None, **fields)


def _finish(event: LineWebhookEvent, outcome: str) -> Result:
    _write(event, processed_at=timezone.now(), outcome=outcome[:32], detail=event.detail[:2000], next_attempt_at=None)
    return Result(event.pk, outcome)


def _again(event: LineWebhookEvent, error: str, *, downloading: bool) -> Result:
    """A failed try: later with backoff, or failed for good after MAX_ATTEMPTS."""
    if event.attempts < MAX_ATTEMPTS:
        delay = EVENTS.backoff(event.attempts)
        _write(event, next_attempt_at=timezone.now() + timedelta(seconds=delay), detail=error[:2000])
        return Result(event.pk, RETRY, delay)
    if downloading:  # the timeline must not say 「取得しています…」 forever
        tell_unavailable(event)
    event.detail = error
    return _finish(event, FAILED)


def _run(event: LineWebhookEvent) -> Result:
    """Process a row this worker has claimed: its handler, or its content download."""
    downloading = event.outcome == CONTENT
    event.detail = ""
    try:
        outcome = download(event, final_attempt=event.attempts >= MAX_ATTEMPTS) if downloading else dispatch(event)
    except SoftTimeLimitExceeded:
        raise  # the task is out of time, not the event at fault: the row's lease brings it back
    except Retry as exc:
        return _again(event, str(exc), downloading=downloading)
    except Exception as exc:
        logger.exception("LINE event %s (%s) failed, attempt %d", event.pk, event.event_type, event.attempts)
        return _again(event, f"{type(exc).__name__}: {exc}", downloading=downloading)
    if outcome == CONTENT:
        # The download is a new step with tries of its own; `next_attempt_at` = now marks when
        # it became due (the sweeper's clock for a lost wake-up).
        _write(event, outcome=CONTENT, attempts=0, next_attempt_at=timezone.now(), detail="コンテンツを取得します")
        return Result(event.pk, CONTENT)
    result = _finish(event, outcome)
    if outcome == UNLINKED and event.event_type in RECONCILED_TYPES and _reconcile_if_linked_meanwhile(event):
        return Result(event.pk, outcome, wake_company=event.company_id)
    return result


def _claim_one(event_id: int, rows: QuerySet[LineWebhookEvent]) -> LineWebhookEvent | None:
    now = timezone.now()
    claimed = EVENTS.claim_one(rows.filter(_due(now)), event_id, now=now)
    return LineWebhookEvent.objects.get(pk=event_id) if claimed else None


def _heartbeat(ids: list[int]) -> Heartbeat:
    """Renew the lease of those of `ids` this worker still holds (written rows have none)."""
    held = LineWebhookEvent.objects.filter(pk__in=ids, processed_at__isnull=True, claimed_until__isnull=False)
    return EVENTS.heartbeat(lambda now: EVENTS.renew(held, now=now))


def _run_claimed(event: LineWebhookEvent) -> Result:
    with _heartbeat([event.pk]):
        return _run(event)


def process_event(event_id: int) -> Result | None:
    """Claim and process one event, whichever its step (a retry, or a manual re-run); None when
    it is done already, not due, or another worker holds it."""
    event = _claim_one(event_id, LineWebhookEvent.objects.all())
    return None if event is None else _run_claimed(event)


def download_content(event_id: int) -> Result | None:
    """Claim and run the content download of one message event; None when there is none due."""
    event = _claim_one(event_id, LineWebhookEvent.objects.filter(outcome=CONTENT))
    return None if event is None else _run_claimed(event)


def _claim_batch(company_id: int | None, limit: int) -> list[LineWebhookEvent]:
    now = timezone.now()
    rows = LineWebhookEvent.objects.filter(_due(now)).exclude(outcome=CONTENT)
    if company_id is not None:
        rows = rows.filter(company_id=company_id)
    ids = EVENTS.claim(rows, limit, now=now, order_by=("timestamp", "id"))
    return list(LineWebhookEvent.objects.filter(id__in=ids).order_by("timestamp", "id")) if ids else []


def _release(events: list[LineWebhookEvent]) -> None:
    """Hand back rows this worker claimed but never started (as if never claimed; an attempt
    count the admin reset meanwhile stays at 0)."""
    if events:
        EVENTS.release(LineWebhookEvent.objects.filter(id__in=[e.pk for e in events], processed_at__isnull=True))


@dataclass
class Drained:
    results: list[Result] = field(default_factory=list)
    more: bool = False  # stopped by the budget, not for want of rows: continue in a fresh task


def process_pending(company: Company | int | None = None, *, budget: float | None = None) -> Drained:
    """Process the company's due events (every company's when None), oldest event first, in
    claimed batches (several workers share the work), for at most `budget` seconds
    (`BUDGET_SECONDS` by default)."""
    company_id = None if company is None else company_pk(company)
    deadline = timezone.now() + timedelta(seconds=BUDGET_SECONDS if budget is None else budget)
    drained = Drained()
    while timezone.now() < deadline:
        batch = _claim_batch(company_id, BATCH)
        if not batch:
            return drained
        with _heartbeat([event.pk for event in batch]):
            try:
                while batch and timezone.now() < deadline:
                    drained.results.append(_run(batch.pop(0)))
            finally:
                _release(batch)  # out of budget, or the task is being stopped (SoftTimeLimitExceeded)
    drained.more = True
    return drained


# --- the sweeper --------------------------------------------------------------------------


@dataclass(frozen=True)
class Swept:
    failed: int  # rows given up on: their worker was killed on every one of MAX_ATTEMPTS tries
    companies: list[int]  # companies with due events nobody is working on (a lost wake-up)
    downloads: list[int]  # content downloads that are due with nobody working on them


def sweep(*, now: datetime | None = None) -> Swept:
    """What beat's sweeper hands out: rows whose wake-up or retry task was lost, and rows that
    can never be claimed again (MAX_ATTEMPTS claims, none finished), which it marks failed."""
    now = now or timezone.now()
    failed = _fail_exhausted(now)
    cutoff = now - STALE_AFTER
    # Due for a while with no task on them, or their worker died (the lease ran out unrenewed).
    lost = (
        Q(next_attempt_at__isnull=True, received_at__lt=cutoff)
        | Q(next_attempt_at__lt=cutoff)
        | EVENTS.lease_expired(now)
    )
    due = LineWebhookEvent.objects.filter(_due(now)).filter(lost)
    # A company with live claims has a worker renewing them: it drains the rest too.
    busy = LineWebhookEvent.objects.filter(processed_at__isnull=True, claimed_until__gte=now).exclude(outcome=CONTENT)
    companies = list(
        due.exclude(outcome=CONTENT)
        .exclude(company_id__in=busy.values("company_id"))
        .order_by()
        .values_list("company_id", flat=True)
        .distinct()[:SWEEP_LIMIT]
    )
    downloads = list(due.filter(outcome=CONTENT).order_by("timestamp").values_list("id", flat=True)[:SWEEP_LIMIT])
    return Swept(failed, companies, downloads)


def _fail_exhausted(now: datetime) -> int:
    exhausted = LineWebhookEvent.objects.filter(processed_at__isnull=True, attempts__gte=MAX_ATTEMPTS).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    failed = 0
    for event in exhausted.order_by("id")[:SWEEP_LIMIT]:
        event.detail = (
            f"{event.attempts}回処理を始めましたが、いずれも完了しませんでした"
            f"（処理中のワーカーが時間切れで停止した可能性があります）。直前の記録: {event.detail}"
        )[:2000]
        done = exhausted.filter(pk=event.pk).update(
            processed_at=now, outcome=FAILED, detail=event.detail, claimed_until=None, next_attempt_at=None
        )
        if done and event.outcome == CONTENT:
            tell_unavailable(event)
        failed += done
    if failed:
        logger.error("LINE event sweeper: %d events failed after %d unfinished attempts", failed, MAX_ATTEMPTS)
    return failed


# --- for friend registration --------------------------------------------------------------


def reconcile_user(company: Company | int, line_user_id: str) -> int:
    """Make due again the messages (and unsends) that `line_user_id` sent before any candidate
    of the company was linked to it, so they appear on that candidate's timeline. Friend
    registration calls this once the candidate's LineAccount is committed (not inside the
    transaction that creates it: see `_reconcile_if_linked_meanwhile`) and then wakes
    processing (`tasks.wake_on_commit`). Returns how many events were made due."""
    return LineWebhookEvent.objects.filter(
        company_id=company_pk(company),
        source_user_id=line_user_id,
        outcome=UNLINKED,
        event_type__in=RECONCILED_TYPES,
    ).update(processed_at=None, outcome="", detail="", attempts=0, next_attempt_at=None, claimed_until=None)


def _reconcile_if_linked_meanwhile(event: LineWebhookEvent) -> int:
    """The race with friend registration: this worker found no account and has just written
    "unlinked"; if the candidate linked in between, `reconcile_user` ran before that write and
    did not see this row. Looking again AFTER the write closes the gap: either reconcile_user
    saw the row as "unlinked", or the account was committed before this query and is seen here
    (both may happen; processing twice is harmless). Returns how many events were made due."""
    if LineAccount.objects.filter(company_id=event.company_id, line_user_id=event.source_user_id).exists():
        return reconcile_user(event.company_id, event.source_user_id)
    return 0


# --- retention ----------------------------------------------------------------------------


def purge_processed(*, older_than: timedelta) -> int:
    """Delete processed events received before `older_than` ago. Their effects (timeline
    messages, friend states) live elsewhere; the rows only guard against a redelivered
    duplicate, and LINE redelivers within hours, not weeks. Unprocessed rows are kept."""
    cutoff = timezone.now() - older_than
    deleted, _ = LineWebhookEvent.objects.filter(received_at__lt=cutoff, processed_at__isnull=False).delete()
    return deleted
