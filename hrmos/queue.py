"""Row queues: tables whose rows are units of work, taken by any number of workers at once.

The outbox's deliveries (messaging), received LINE webhook events (line_integration) and the
automatic messages of the apps above are all row queues. They share one vocabulary, and the
steps below are written once here:

- **due**: a row is ready when its `next_attempt_at` is empty or past.
- **claim**: a worker takes up to N ready rows for itself: `SELECT … FOR UPDATE SKIP LOCKED`
  (concurrent workers take disjoint rows without waiting), then a conditional UPDATE that
  re-checks the same conditions, sets the lease and counts the attempt. On SQLite, which
  serialises writers, the re-check gives the same guarantee.
- **lease**: how long a claim is the worker's. A row whose lease ran out counts as abandoned
  (its worker died); the **sweep** of each queue takes such rows back.
- **renew**: a worker still busy with its rows extends their lease. Leases are short (tens of
  seconds) and a `Heartbeat` thread renews them while the worker works, so a row whose worker
  was SIGKILLed is taken back within one lease, however long a live worker may take.
- **release**: hand back claimed rows the worker never started (the attempt is given back).
- **attempts**: claims so far; a row that used `max_attempts` of them is failed, so a row that
  kills its worker every time cannot cycle forever.
- **backoff**: when a failed row is due again: exponential, with jitter.

What a row's "ready" and "done" mean stays with each queue (a delivery's `status`, an
event's `processed_at`); the queue passes them in as the queryset it claims from.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, models, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

log = logging.getLogger(__name__)


def backoff(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the `attempts`-th failed try: uniformly between half and all of
    min(cap, base · 2^(attempts−1)).

    The jitter matters when many rows fail at once (LINE or the database down for a minute):
    without it their retries all fire in the same second, again and again."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not security)


@dataclass(frozen=True)
class RowQueue:
    """One table used as a queue; `lease` is a callable so that settings can change it."""

    model: type[models.Model]
    lease_field: str
    lease: Callable[[], timedelta]
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    attempts_field: str = "attempts"
    due_field: str = "next_attempt_at"

    def due(self, now: datetime) -> Q:
        return Q(**{f"{self.due_field}__isnull": True}) | Q(**{f"{self.due_field}__lte": now})

    def unleased(self, now: datetime) -> Q:
        """No worker holds the row: never claimed, handed back, or its lease ran out."""
        return Q(**{f"{self.lease_field}__isnull": True}) | Q(**{f"{self.lease_field}__lt": now})

    def lease_expired(self, now: datetime) -> Q:
        return Q(**{f"{self.lease_field}__lt": now})

    def lease_until(self, now: datetime) -> datetime:
        return now + self.lease()

    def backoff(self, attempts: int) -> float:
        return backoff(attempts, base=self.backoff_base, cap=self.backoff_cap)

    def retry_at(self, attempts: int, now: datetime) -> datetime:
        return now + timedelta(seconds=self.backoff(attempts))

    def claim(
        self, ready: QuerySet, limit: int, *, now: datetime, order_by: Sequence[str] = (), **changes: Any
    ) -> list[Any]:
        """Claim up to `limit` rows of `ready` (the queue's own "ready" conditions, already
        filtered): lease them, count the attempt, apply `changes`. Returns their primary keys."""
        with transaction.atomic():
            ids = list(
                ready.order_by(*order_by).select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
            if ids:
                ready.filter(pk__in=ids).update(
                    **{self.lease_field: self.lease_until(now), self.attempts_field: F(self.attempts_field) + 1},
                    **changes,
                )
        return ids

    def claim_one(self, ready: QuerySet, pk: Any, *, now: datetime, **changes: Any) -> bool:
        """Claim one known row if it is ready (a conditional UPDATE; no lock needed)."""
        return (
            ready.filter(pk=pk).update(
                **{self.lease_field: self.lease_until(now), self.attempts_field: F(self.attempts_field) + 1},
                **changes,
            )
            == 1
        )

    def renew(self, held: QuerySet, *, now: datetime) -> int:
        """Extend the lease of rows the worker still holds (`held` says which are still its own)."""
        return held.update(**{self.lease_field: self.lease_until(now)})

    def heartbeat(self, renew: Callable[[datetime], int]) -> Heartbeat:
        """A heartbeat at a third of this queue's lease (see `Heartbeat`)."""
        return Heartbeat(renew, every=self.lease().total_seconds() / 3)

    def release(self, held: QuerySet, **changes: Any) -> int:
        """Hand back rows claimed but never started, as if never claimed."""
        return held.update(
            **{self.lease_field: None, self.attempts_field: Greatest(F(self.attempts_field) - 1, 0)}, **changes
        )


class Heartbeat:
    """Renews the lease of the rows a worker holds, from a daemon thread, every `every` seconds
    (a third of the lease: two beats may fail before a live worker's rows look abandoned).

    `renew(now)` renews whatever the worker holds at that moment and returns how many rows it
    renewed. The thread dies with its process, which is the point: after a SIGKILL nobody
    renews, and the rows are taken back one lease later. A beat that fails (the database is
    briefly unreachable) is logged and tried again at the next beat."""

    def __init__(self, renew: Callable[[datetime], int], every: float) -> None:
        self.renew = renew
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> int:
        try:
            return self.renew(timezone.now())
        except Exception:
            log.warning("renewing leases failed; trying again in %.0f s", self.every, exc_info=True)
            return 0

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.every):
                self.beat()
        finally:
            connections.close_all()  # this thread's own connections

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._loop, name="lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
