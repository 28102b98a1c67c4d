"""Scheduled sends (送信予約): a beat tick claims due sends with SKIP LOCKED.

A scheduled send is written at compose time like any other (Send + Messages + Deliveries),
with status `scheduled`; nothing is put on the broker (no long eta/countdown, which Redis
would redeliver and a restart could lose). Every ~15 s `dispatch_due()` turns due sends and
their rows into `queued` and wakes the delivery workers on commit. The per-recipient LINE
rules (friend, blocked, integration linked, candidate still there) are judged by the worker
when it sends, so the state at the real send time decides.

Cancel, edit and send-now are conditional updates on `status='scheduled'` (cancel) and on
`status='scheduled' AND version=…` (edit) below. On PostgreSQL the dispatcher holds
the send's row lock until it commits: a cancel that arrives meanwhile waits, then finds the
status changed and reports "too late"; a cancel that committed first leaves nothing to claim.
Either way a cancelled send never sends.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hrmos.audit import log_action
from hrmos.models import User
from messaging import live, rendering, rules
from messaging.models import Delivery, Message, Send
from messaging.outbox import rows, tasks
from messaging.sending.compose import BATCH_SIZE, ComposeError, Draft, validate

log = logging.getLogger(__name__)

BATCH = 50


def dispatch_due(*, now: datetime | None = None, limit: int = BATCH) -> list[int]:
    """Move due scheduled sends to the queue; returns their ids. Safe with two dispatchers."""
    now = now or timezone.now()
    dispatched: list[int] = []
    with transaction.atomic():
        due = list(
            Send.objects.filter(status=Send.Status.SCHEDULED, scheduled_at__lte=now)
            .order_by("scheduled_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", "recipient_count", "company_id")[:limit]
        )
        for send_id, count, company_id in due:
            if not Send.objects.filter(pk=send_id, status=Send.Status.SCHEDULED).update(
                status=Send.Status.QUEUED, updated_at=now
            ):
                continue
            _release(send_id, count, now, company_id)
            dispatched.append(send_id)
    if dispatched:
        log.info("dispatched %d scheduled sends: %s", len(dispatched), dispatched)
    return dispatched


def _release(send_id: int, count: int, now: datetime, company_id: int) -> None:
    """Queue the rows of a send just moved from scheduled to queued, and wake the workers on
    commit. The caller's conditional update on the send's status decided it goes."""
    Delivery.objects.filter(send_id=send_id, status=Delivery.Status.SCHEDULED).update(
        status=Delivery.Status.QUEUED, next_attempt_at=None, updated_at=now
    )
    Message.objects.filter(send_id=send_id).update(occurred_at=now)
    live.changed(sends_of=[company_id])
    channels = list(Delivery.objects.filter(send_id=send_id).order_by().values_list("channel", flat=True).distinct())
    tasks.wake_on_commit(send_id, channels, count)

    # A def binding this send_id: mypy cannot type a lambda's default argument, and a
    # partial has no __qualname__ for Django's log of a failed robust callback.
    def finish_send(send_id: int = send_id) -> None:
        rows.finish_send_if_complete(send_id)

    transaction.on_commit(finish_send, robust=True)


def send_scheduled_now(send: Send, *, user: User | None, now: datetime | None = None) -> bool:
    """Send a scheduled send at once instead of at its time (「今すぐ送信」). The same
    compare-and-set on status as cancel: False when the dispatcher took it already or it was
    cancelled, so a send never goes twice."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Send.objects.filter(pk=send.pk, status=Send.Status.SCHEDULED).update(
            status=Send.Status.QUEUED, scheduled_at=now, version=F("version") + 1, updated_at=now
        )
        if not updated:
            return False
        _release(send.pk, send.recipient_count, now, send.company_id)
        log_action(
            send.company, user, "messaging.send_now", f"送信予約を今すぐ送信しました（{send.pk}）", send_id=send.pk
        )
    return True


def edit_scheduled_send(
    send: Send, draft: Draft, *, version: int, user: User | None, now: datetime | None = None
) -> bool:
    """Change a scheduled send's content or time. A conditional update on (status, version):
    False when the dispatcher already took it (or another edit won)."""
    now = now or timezone.now()
    errors = validate(
        draft,
        company=send.company,
        recipient_count=send.recipient_count,
        now=now,
        sender_department=send.sender_department,
    )
    if draft.scheduled_at is None:
        # Changing a reservation into "send now" is not an edit: it would leave a queued send
        # nobody woke up (and scheduled sends need their time).
        errors.setdefault("scheduled_at", []).append("送信予約日時を入力してください。")
    if errors or draft.scheduled_at is None:
        raise ComposeError(errors)
    scope = rendering.scope_of(send)
    with transaction.atomic():
        updated = Send.objects.filter(pk=send.pk, status=Send.Status.SCHEDULED, version=version).update(
            subject=draft.subject.strip(),
            body=draft.body,
            scheduled_at=draft.scheduled_at,
            version=F("version") + 1,
            updated_at=now,
        )
        if not updated:
            return False
        messages = list(Message.objects.filter(send=send).select_related("candidate"))
        for message in messages:
            rendered = rendering.render_for_recipient(
                draft.subject.strip(),
                draft.body,
                rendering.context_for(message.candidate, send.company, send.sender_name, scope),
                friend_invitation=send.include_friend_invitation,
                line=False,  # the timeline copy only; LINE copies are made when it goes out
            )
            message.subject, message.body, message.occurred_at = (
                rendered.subject,
                rendered.timeline_body,
                draft.scheduled_at,
            )
        Message.objects.bulk_update(messages, ["subject", "body", "occurred_at"], batch_size=BATCH_SIZE)
        live.changed(sends_of=[send.company_id])
        log_action(send.company, user, "messaging.send_edited", f"送信予約を変更しました（{send.pk}）", send_id=send.pk)
    return True


def cancel_scheduled_send(send: Send, *, user: User | None, now: datetime | None = None) -> bool:
    """Cancel a scheduled send unless the dispatcher already claimed it: the compare-and-set
    on status means a cancel racing the dispatcher either wins (nothing is ever sent) or
    returns False ("too late")."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Send.objects.filter(pk=send.pk, status=Send.Status.SCHEDULED).update(
            status=Send.Status.CANCELLED, cancelled_at=now, completed_at=now, version=F("version") + 1, updated_at=now
        )
        if not updated:
            return False
        Delivery.objects.filter(send_id=send.pk, status=Delivery.Status.SCHEDULED).update(
            status=Delivery.Status.CANCELLED, reason=rules.REASON_CANCELLED, updated_at=now
        )
        live.changed(sends_of=[send.company_id])
        log_action(
            send.company,
            user,
            "messaging.send_cancelled",
            f"送信予約をキャンセルしました（{send.pk}）",
            send_id=send.pk,
        )
    return True
