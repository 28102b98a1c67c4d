"""The outbox's sweeper (beat, every 30 s): rows whose worker died, and wake-ups that were lost.

- `sending` rows whose lease expired go back to `queued` (the worker died: LINE is safe to
  re-push under the same retry key, email is resent, at-least-once), or are failed once they
  have used up their attempts (a row that kills its worker every time must not cycle forever).
- due `queued` rows nobody is working on (an on-commit publish lost, a re-enqueue lost with a
  Redis restart, the unacknowledged task of a killed worker) are returned as (send, channel)
  pairs for the task to wake a drain for. A pair with live claims (a drain renewing its
  leases) has a drain already: it is left alone.
- sends whose rows all ended while their last drain died before noticing are finished.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messaging.models import Delivery, DeliveryAttempt, Send
from messaging.outbox.rows import MAX_ATTEMPTS, OUTBOX, REASON_CRASHED, finish_send_if_complete, stale_queued_after

log = logging.getLogger(__name__)

STUCK_LIMIT = 5000
DUE_LIMIT = 500


@dataclass
class Swept:
    requeued: int = 0
    failed: int = 0
    due: list[tuple[int, str]] = field(default_factory=list)  # (send id, channel) to wake a drain for


def sweep(*, now: datetime | None = None) -> Swept:
    now = now or timezone.now()
    swept = Swept()
    swept.requeued, swept.failed = _take_back_expired(now)
    stale = now - stale_queued_after()
    due = (
        Delivery.objects.filter(status=Delivery.Status.QUEUED)
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, updated_at__lt=stale))
        .order_by()  # no Meta.ordering columns in the DISTINCT
        .values_list("send_id", "channel")
        .distinct()[:DUE_LIMIT]
    )
    live = set(
        Delivery.objects.filter(status=Delivery.Status.SENDING, lease_expires_at__gte=now)
        .order_by()
        .values_list("send_id", "channel")
        .distinct()
    )
    swept.due = [pair for pair in due if pair not in live]
    for send_id in Send.objects.filter(status=Send.Status.IN_PROGRESS, updated_at__lt=stale).values_list(
        "pk", flat=True
    )[:DUE_LIMIT]:
        finish_send_if_complete(send_id, now=now)
    return swept


def _take_back_expired(now: datetime) -> tuple[int, int]:
    """(re-queued, failed) among `sending` rows whose lease ran out."""
    with transaction.atomic():
        stuck = list(
            Delivery.objects.filter(status=Delivery.Status.SENDING)
            .filter(OUTBOX.lease_expired(now))
            .order_by()
            .select_for_update(skip_locked=True)
            .values_list("id", "send_id", "attempts", "company_id", "channel", "sending_since", "lease_expires_at")[
                :STUCK_LIMIT
            ]
        )
        spent = {pk: send_id for pk, send_id, attempts, *_ in stuck if attempts >= MAX_ATTEMPTS}
        failed = Delivery.objects.filter(id__in=list(spent), status=Delivery.Status.SENDING).update(
            status=Delivery.Status.FAILED,
            reason=REASON_CRASHED,
            lease_expires_at=None,
            sending_since=None,
            next_attempt_at=None,
            updated_at=now,
        )
        requeued = (
            Delivery.objects.filter(id__in=[pk for pk, *_ in stuck if pk not in spent])
            .filter(status=Delivery.Status.SENDING)
            .update(status=Delivery.Status.QUEUED, lease_expires_at=None, sending_since=None, next_attempt_at=now)
        )
        # Their tries never reported back: the attempt log says so (the rows are locked: all were taken back).
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                company_id=company_id,
                delivery_id=pk,
                channel=channel,
                started_at=since or lease_end or now,
                outcome=DeliveryAttempt.Outcome.INTERRUPTED,
                error=REASON_CRASHED,
            )
            for pk, _, _, company_id, channel, since, lease_end in stuck
        )
    if requeued:
        log.warning("sweeper: %d deliveries were stuck in sending past their lease; re-queued", requeued)
    if failed:
        log.error("sweeper: %d deliveries were stuck in sending after %d attempts; failed", failed, MAX_ATTEMPTS)
        for send_id in set(spent.values()):
            finish_send_if_complete(send_id, now=now)
    return requeued, failed
