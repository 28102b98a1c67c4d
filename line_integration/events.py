"""Processing stored webhook events: claim the row, dispatch by event type, record the outcome.

`HANDLERS` maps LINE's event `type` to a function `(LineWebhookEvent) -> outcome`. Every event
is stored by the webhook before this runs; here nothing is ever dropped silently: each row ends
with `processed_at` and an outcome —

- "processed": the effect is applied (a timeline message, an unsend, content downloaded);
- "ignored": stored, deliberately no action (group/room sources, `mode: standby`, event types
  the ATS does not use, unknown future types), with the reason in `detail`;
- "unlinked": from a LINE user no candidate is linked to yet; kept, and processed again by
  `reconcile_user` when that user links (a message then appears on the candidate's timeline);
- "friend" / "blocked" / "stale" / "unlinked": follow/unfollow, from `friends.py`;
- "failed": the handler kept failing after `MAX_ATTEMPTS`, with the error in `detail`.

Idempotent by construction: a worker claims a row with a conditional UPDATE (a lease, so two
workers never process one row and a crashed worker's row comes back after `LEASE`), and every
effect is idempotent too (messages are unique per LINE message id), so running an event twice
changes nothing. A handler that needs another try later (content still being prepared, LINE
unreachable) raises `Retry`; the row gets `next_attempt_at` with exponential backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hrmos.models import Company
from line_integration import content, friends
from line_integration.models import LineAccount, LineIntegration, LineWebhookEvent
from line_integration.signals import (
    ReceivedLineMessage,
    line_content_downloaded,
    line_content_unavailable,
    line_message_received,
    line_message_unsent,
)

logger = logging.getLogger(__name__)

Handler = Callable[[LineWebhookEvent], str]

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10  # with the backoff below: about 25 minutes of tries
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 300
BATCH = 50
DRAIN_LIMIT = 2000  # events one process_pending task handles before handing over to a new one
STALE_AFTER = timedelta(minutes=2)  # the sweeper's notion of a lost wake-up
RECONCILED_TYPES = ("message", "unsend")  # follow/unfollow are friends.reconcile_account's
CONTENT_TYPES = frozenset({"image", "video", "audio", "file"})

PROCESSED = LineWebhookEvent.PROCESSED
IGNORED = LineWebhookEvent.IGNORED
UNLINKED = LineWebhookEvent.UNLINKED
FAILED = LineWebhookEvent.FAILED
RETRY = "retry"  # not stored as an outcome: the row stays pending with next_attempt_at

IGNORED_TYPES = {
    "postback": "ポストバック（ATSはリッチメニュー等を使っていません）",
    "join": "グループ・トークルームへの参加",
    "leave": "グループ・トークルームからの退出",
    "memberJoined": "グループへのメンバー参加",
    "memberLeft": "グループからのメンバー退出",
    "videoPlayComplete": "動画の視聴完了",
    "beacon": "ビーコン",
    "accountLink": "アカウント連携（ATSは使っていません）",
    "membership": "メンバーシップ",
}


class Retry(Exception):
    """Try this event again later (the reason goes to `detail`)."""


@dataclass(frozen=True)
class Result:
    event_id: int
    outcome: str
    retry_in: float | None = None  # seconds, when outcome == RETRY


# --- handlers -----------------------------------------------------------------------------


def _account(event: LineWebhookEvent) -> LineAccount | None:
    if not event.source_user_id:
        return None
    return (
        LineAccount.objects.select_related("candidate")
        .filter(company_id=event.company_id, line_user_id=event.source_user_id)
        .first()
    )


def _received_message(account: LineAccount, event: LineWebhookEvent, message: dict) -> ReceivedLineMessage:
    kind = str(message.get("type") or "")
    fields: dict = {"text": "", "extra": {}}
    if message.get("quotedMessageId"):
        fields["extra"]["quoted_message_id"] = str(message["quotedMessageId"])
    if kind == "text":
        fields["text"] = str(message.get("text") or "")
    elif kind == "sticker":
        fields.update(
            sticker_package_id=str(message.get("packageId") or "")[:32],
            sticker_id=str(message.get("stickerId") or "")[:32],
            text=str(message.get("text") or ""),  # message stickers carry their text
        )
        fields["extra"].update(
            resource_type=str(message.get("stickerResourceType") or ""),
            keywords=[str(k) for k in (message.get("keywords") or [])][:15],
        )
    elif kind in CONTENT_TYPES:
        provider = message.get("contentProvider") or {}
        provider_type = provider.get("type", "line") if isinstance(provider, dict) else "line"
        if kind == "file":
            fields.update(file_name=str(message.get("fileName") or "")[:255], file_size=message.get("fileSize"))
            provider_type = "line"  # files have no contentProvider and are always fetchable
        if message.get("duration") is not None:
            fields["extra"]["duration_ms"] = message["duration"]
        if isinstance(message.get("imageSet"), dict):
            fields["extra"]["image_set"] = message["imageSet"]
        if provider_type == "external":
            fields["extra"].update(
                provider="external",
                original_url=str(provider.get("originalContentUrl") or ""),
                preview_url=str(provider.get("previewImageUrl") or ""),
            )
        else:
            fields["content_pending"] = True
    elif kind == "location":
        title, address = str(message.get("title") or ""), str(message.get("address") or "")
        fields["text"] = " ".join(part for part in (title, address) if part)
        fields["extra"].update(
            title=title, address=address, latitude=message.get("latitude"), longitude=message.get("longitude")
        )
    else:
        fields["extra"]["line_type"] = kind
        kind = "unknown"
    if not isinstance(fields.get("file_size"), int):
        fields.pop("file_size", None)
    return ReceivedLineMessage(
        candidate=account.candidate,
        line_message_id=event.line_message_id,
        occurred_at=event.timestamp,
        content_type=kind,
        sender_name=account.display_name,
        **fields,
    )


def _was_unsent(event: LineWebhookEvent) -> bool:
    return LineWebhookEvent.objects.filter(
        company_id=event.company_id,
        source_user_id=event.source_user_id,
        event_type="unsend",
        line_message_id=event.line_message_id,
    ).exists()


def _unavailable(event: LineWebhookEvent, status: str, reason: str) -> str:
    line_content_unavailable.send(
        sender=LineWebhookEvent, company_id=event.company_id, line_message_id=event.line_message_id, status=status
    )
    event.detail = reason
    return PROCESSED


def _fetch_content(event: LineWebhookEvent, message: dict) -> str:
    integration = LineIntegration.objects.filter(company_id=event.company_id).first()
    if integration is None:
        return _unavailable(event, content.FAILED, "LINE連携がありません")
    try:
        downloaded = content.download(
            integration,
            event.line_message_id,
            message_type=str(message.get("type")),
            given_name=str(message.get("fileName") or ""),
        )
    except content.Unavailable as exc:
        return _unavailable(event, exc.status, exc.reason)
    except content.NotReady as exc:
        if event.attempts >= MAX_ATTEMPTS:
            return _unavailable(event, content.FAILED, f"{content.UNAVAILABLE_TEXT[content.FAILED]}（{exc}）")
        raise Retry(f"コンテンツの取得を再試行します: {exc}") from exc
    line_content_downloaded.send(
        sender=LineWebhookEvent,
        company_id=event.company_id,
        line_message_id=event.line_message_id,
        content=downloaded,
    )
    return PROCESSED


def handle_message(event: LineWebhookEvent) -> str:
    """A message from a linked candidate → their timeline (then its content, if any)."""
    message = event.payload.get("message")
    if not isinstance(message, dict) or not event.line_message_id:
        event.detail = "message.id がありません"
        return IGNORED
    account = _account(event)
    if account is None:
        return UNLINKED
    received = _received_message(account, event, message)
    line_message_received.send(sender=LineWebhookEvent, message=received)
    # Events arrive out of order: an unsend processed before this message existed left its row.
    if _was_unsent(event):
        line_message_unsent.send(
            sender=LineWebhookEvent,
            company_id=event.company_id,
            line_message_id=event.line_message_id,
            unsent_at=event.timestamp,
        )
        return PROCESSED
    if received.content_pending:
        return _fetch_content(event, message)
    return PROCESSED


def handle_unsend(event: LineWebhookEvent) -> str:
    """The candidate unsent a message: it is hidden and marked as unsent on the timeline."""
    if not event.line_message_id:
        event.detail = "unsend.messageId がありません"
        return IGNORED
    if _account(event) is None:
        return UNLINKED
    line_message_unsent.send(
        sender=LineWebhookEvent,
        company_id=event.company_id,
        line_message_id=event.line_message_id,
        unsent_at=event.timestamp,
    )
    return PROCESSED


def ignore(event: LineWebhookEvent) -> str:
    event.detail = event.detail or f"対象外のイベント: {IGNORED_TYPES.get(event.event_type, event.event_type)}"
    return IGNORED


HANDLERS: dict[str, Handler] = {
    "message": handle_message,
    "unsend": handle_unsend,
    "follow": friends.handle_follow,
    "unfollow": friends.handle_unfollow,
    **dict.fromkeys(IGNORED_TYPES, ignore),
}


def dispatch(event: LineWebhookEvent) -> str:
    """The outcome of one event; sets `event.detail` when there is something to say."""
    if event.mode == "standby":
        event.detail = "standby モード（他のチャネルがチャットを操作中）のため何もしません"
        return IGNORED
    if event.source_type in ("group", "room"):
        event.detail = f"{event.source_type} のイベントはATSでは扱いません"
        return IGNORED
    handler = HANDLERS.get(event.event_type)
    if handler is None:
        event.detail = f"未知のイベントの種類: {event.event_type}"
        return IGNORED
    return handler(event)


# --- claiming and recording ---------------------------------------------------------------


def _due(now: datetime) -> Q:
    return (
        Q(processed_at__isnull=True)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


def backoff_seconds(attempts: int) -> float:
    return float(min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def _run(event: LineWebhookEvent) -> Result:
    """Process a row this worker has claimed."""
    event.detail = ""
    try:
        outcome = dispatch(event)
    except Retry as exc:
        delay = backoff_seconds(event.attempts)
        LineWebhookEvent.objects.filter(pk=event.pk).update(
            claimed_until=None, next_attempt_at=timezone.now() + timedelta(seconds=delay), detail=str(exc)[:2000]
        )
        return Result(event.pk, RETRY, delay)
    except Exception as exc:
        logger.exception("LINE event %s (%s) failed, attempt %d", event.pk, event.event_type, event.attempts)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if event.attempts < MAX_ATTEMPTS:
            delay = backoff_seconds(event.attempts)
            LineWebhookEvent.objects.filter(pk=event.pk).update(
                claimed_until=None, next_attempt_at=timezone.now() + timedelta(seconds=delay), detail=error
            )
            return Result(event.pk, RETRY, delay)
        outcome, event.detail = FAILED, error
    LineWebhookEvent.objects.filter(pk=event.pk).update(
        processed_at=timezone.now(),
        outcome=outcome[:32],
        detail=event.detail[:2000],
        claimed_until=None,
        next_attempt_at=None,
    )
    return Result(event.pk, outcome)


def process_event(event_id: int) -> Result | None:
    """Claim and process one event; None when it is done already or another worker holds it."""
    now = timezone.now()
    claimed = (
        LineWebhookEvent.objects.filter(_due(now), pk=event_id).update(
            claimed_until=now + LEASE, attempts=F("attempts") + 1
        )
        == 1
    )
    if not claimed:
        return None
    return _run(LineWebhookEvent.objects.get(pk=event_id))


def _claim_batch(now: datetime, limit: int, stale_only: bool) -> list[int]:
    rows = LineWebhookEvent.objects.filter(_due(now))
    if stale_only:
        rows = rows.filter(
            Q(next_attempt_at__isnull=True, received_at__lt=now - STALE_AFTER) | Q(next_attempt_at__isnull=False)
        )
    with transaction.atomic():
        ids = list(
            rows.order_by("timestamp", "id").select_for_update(skip_locked=True).values_list("id", flat=True)[:limit]
        )
        if ids:
            LineWebhookEvent.objects.filter(id__in=ids).update(claimed_until=now + LEASE, attempts=F("attempts") + 1)
    return ids


def process_pending(*, stale_only: bool = False, max_rows: int = DRAIN_LIMIT) -> list[Result]:
    """Drain the due events of every company, oldest event first, in claimed batches (several
    workers share the work). `stale_only` is the sweeper's view: rows nobody woke up for, and
    retries that are due."""
    results: list[Result] = []
    while len(results) < max_rows:
        ids = _claim_batch(timezone.now(), BATCH, stale_only)
        if not ids:
            break
        for event in LineWebhookEvent.objects.filter(id__in=ids).order_by("timestamp", "id"):
            results.append(_run(event))
    return results


# --- for friend registration --------------------------------------------------------------


def reconcile_user(company: Company | int, line_user_id: str) -> int:
    """Process again the messages (and unsends) that `line_user_id` sent before any candidate of
    the company was linked to it, so they appear on that candidate's timeline. Friend
    registration calls this right after it stores the candidate's LineAccount (inside its
    transaction is fine: processing is woken on commit). Returns how many events were queued."""
    from line_integration import tasks  # tasks imports this module

    company_id = company if isinstance(company, int) else company.pk
    count = LineWebhookEvent.objects.filter(
        company_id=company_id, source_user_id=line_user_id, outcome=UNLINKED, event_type__in=RECONCILED_TYPES
    ).update(processed_at=None, outcome="", detail="", attempts=0, next_attempt_at=None, claimed_until=None)
    if count:
        transaction.on_commit(tasks.wake)
    return count


# --- retention ----------------------------------------------------------------------------


def purge_processed(*, older_than: timedelta) -> int:
    """Delete processed events received before `older_than` ago. Their effects (timeline
    messages, friend states) live elsewhere; the rows only guard against a redelivered
    duplicate, and LINE redelivers within hours, not weeks. Unprocessed rows are kept."""
    cutoff = timezone.now() - older_than
    deleted, _ = LineWebhookEvent.objects.filter(received_at__lt=cutoff, processed_at__isnull=False).delete()
    return deleted
