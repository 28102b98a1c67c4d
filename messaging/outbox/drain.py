"""The drain loop: deliver one send's due rows on one channel, batch after batch.

How a send flows:
1. `sending.compose.create_send` writes Send + Messages + Deliveries in one transaction and, on
   commit, `tasks.wake_on_commit` enqueues a few `drain(send, channel)` tasks (more for big
   sends, so both worker processes share the work).
2. A drain claims up to a batch of due rows (`rows.claim`: status `sending` under a lease),
   hands them to the channel's worker (`email.process`, or `line.start`/`line.finish` whose
   pushes run on a thread pool), which writes every outcome back in one bulk update; repeat.
   It stops after ~50 s and says so, and the task continues in a fresh task, so no task runs
   long (the broker's visibility timeout never comes near). While it works, a heartbeat thread
   renews the leases of the rows it holds; a killed worker's rows are back within one lease.
3. A transient failure puts the row back to `queued` with `next_attempt_at`. A drain sleeps
   through short waits and asks to be woken later for longer ones; the sweeper picks up
   anything else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from messaging.models import Channel, Delivery
from messaging.outbox import email, line, rows

DRAIN_BUDGET_SECONDS = 50.0
SHORT_WAIT = 3.0  # a drain sleeps through waits this short instead of asking to be woken later


@dataclass(frozen=True)
class Drained:
    handled: int
    out_of_time: bool = False  # rows are left: continue in a fresh task now
    wake_in: float | None = None  # the next row is due in this many seconds: wake a drain then


def drain(send_id: int, channel: str, *, budget: float = DRAIN_BUDGET_SECONDS) -> Drained:
    """Deliver this send's due rows on one channel until none are left or the budget is
    spent. Safe to run any number of times, concurrently: claims are exclusive.

    Pipelined: the next batch is claimed and prepared while the previous batch's pushes are
    still in flight, so the HTTP pool never idles during the database work. A heartbeat
    renews the leases of the rows held meanwhile (short leases: see rows.lease)."""
    held = rows.Held()
    with rows.OUTBOX.heartbeat(held.renew):
        result = _drain(send_id, channel, budget, held)
    rows.finish_send_if_complete(send_id)
    return result


def _drain(send_id: int, channel: str, budget: float, held: rows.Held) -> Drained:
    limit = rows.BATCH.get(channel, 50)
    deadline = time.monotonic() + budget
    handled = 0
    pending: tuple[line.Pending, list[Delivery]] | None = None  # LINE: the previous batch, its pushes in flight
    result = None
    try:
        while result is None:
            if time.monotonic() >= deadline:
                result = Drained(handled, out_of_time=True)
                break
            batch = rows.claim(send_id, channel, limit)
            held.add(batch)
            if batch and channel == Channel.LINE:
                started = line.start(batch)
                if pending is not None:
                    _finish(pending, held)
                pending = (started, batch)
                handled += len(batch)
            elif batch:
                try:
                    email.process(batch)  # synchronous: one SMTP connection per batch
                finally:
                    held.drop(batch)
                handled += len(batch)
            elif pending is not None:
                _finish(pending, held)  # its retries may be due now: look again
                pending = None
            else:
                result = _wait_or_stop(send_id, channel, handled, deadline)
    finally:
        if pending is not None:
            _finish(pending, held)
    return result


def _finish(pending: tuple[line.Pending, list[Delivery]], held: rows.Held) -> None:
    started, batch = pending
    try:
        line.finish(started)
    finally:
        held.drop(batch)


def _wait_or_stop(send_id: int, channel: str, handled: int, deadline: float) -> Drained | None:
    """Nothing claimable now: sleep through a short wait (None: look again), else stop."""
    wait = rows.next_due_in(send_id, channel)
    if wait is None:
        return Drained(handled)
    if wait <= SHORT_WAIT and time.monotonic() + wait < deadline:
        time.sleep(max(wait, 0.05))
        return None
    return Drained(handled, wake_in=wait)
