"""Scheduled sends (送信予約): a beat tick claims due sends with SKIP LOCKED.

A scheduled send is written at compose time like any other (Send + Messages + Deliveries),
with status `scheduled`; nothing is put on the broker (no long eta/countdown, which Redis
would redeliver and a restart could lose). Every ~15 s `dispatch_due()` turns due sends and
their rows into `queued` and wakes the delivery workers on commit. The per-recipient LINE
rules (friend, blocked, integration linked, candidate still there) are judged by the worker
when it sends, so the state at the real send time decides.

Cancel and edit are conditional updates on `status='scheduled'` (cancel) and on
`status='scheduled' AND version=…` (edit) in `compose.py`. On PostgreSQL the dispatcher holds
the send's row lock until it commits: a cancel that arrives meanwhile waits, then finds the
status changed and reports "too late"; a cancel that committed first leaves nothing to claim.
Either way a cancelled send never sends.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from messaging import pipeline
from messaging.models import Delivery, Message, Send

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
            .values_list("pk", "recipient_count")[:limit]
        )
        for send_id, count in due:
            if not Send.objects.filter(pk=send_id, status=Send.Status.SCHEDULED).update(
                status=Send.Status.QUEUED, updated_at=now
            ):
                continue
            Delivery.objects.filter(send_id=send_id, status=Delivery.Status.SCHEDULED).update(
                status=Delivery.Status.QUEUED, next_attempt_at=None, updated_at=now
            )
            Message.objects.filter(send_id=send_id).update(occurred_at=now)
            channels = list(
                Delivery.objects.filter(send_id=send_id).order_by().values_list("channel", flat=True).distinct()
            )
            pipeline.wake_on_commit(send_id, channels, count)
            transaction.on_commit(lambda send_id=send_id: pipeline.finish_send_if_complete(send_id), robust=True)
            dispatched.append(send_id)
    if dispatched:
        log.info("dispatched %d scheduled sends: %s", len(dispatched), dispatched)
    return dispatched
