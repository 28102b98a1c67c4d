"""Crash experiment: PostgreSQL stopped while candidates' LINE messages keep arriving.

    .venv/bin/python reliability/postgres_stop.py [--rate 20] [--duration 60] [--stop-after 15] [--outage 20]

Starts private PostgreSQL (55432), Redis (56379), the LINE emulator, the app under gunicorn,
beat and a worker with production settings. Emulated candidates (LINE friends, linked) send
`--rate` text messages a second for `--duration` seconds; the emulator posts each as a signed
webhook to the app and redelivers failed ones (every 5 s, up to 20 times; LINE's own
redelivery goes on longer). PostgreSQL is stopped (`pg_ctl stop -m fast`) `--stop-after`
seconds in and started again `--outage` seconds later. Printed: webhooks refused (5xx) while
the database was down, messages lost (sent by a candidate, never on the timeline), duplicated
(more than one timeline message for one LINE message), stuck events (not processed at the
end), and the time from PostgreSQL's return until every message was on a timeline.
Targets: 0 lost, 0 duplicated, 0 stuck, ≤ 90 s. Stops everything it started; exit status 1
if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reliability.stack import Stack, linked_company

TARGET_SECONDS = 90
PEOPLE = 50


class Load(threading.Thread):
    """Candidates sending texts at a fixed rate through the emulator's phone API."""

    def __init__(self, emulator: Any, channel: str, personas: list[str], rate: float, duration: float) -> None:
        super().__init__(daemon=True)
        self.emulator, self.channel, self.personas = emulator, channel, personas
        self.rate, self.duration = rate, duration
        self.message_ids: list[str] = []
        self.errors = 0

    def run(self) -> None:
        start = time.monotonic()
        for n in range(int(self.rate * self.duration)):
            delay = start + n / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                sent = self.emulator.send_text(self.channel, self.personas[n % len(self.personas)], f"質問です {n}")
                self.message_ids.append(str(sent["message_id"]))
            except Exception:
                self.errors += 1


def on_timeline(company: Any, message_ids: list[str]) -> Counter:
    from messaging.models import Message

    return Counter(
        Message.objects.filter(company=company, line_message_id__in=message_ids).values_list(
            "line_message_id", flat=True
        )
    )


def wait_on_timeline(company: Any, message_ids: list[str], timeout: float) -> datetime | None:
    from django.utils import timezone

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(on_timeline(company, message_ids)) == len(message_ids):
            return timezone.now()
        time.sleep(0.5)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="messages a second")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--stop-after", type=float, default=15.0)
    parser.add_argument("--outage", type=float, default=20.0)
    args = parser.parse_args()

    with Stack("postgres") as stack:
        stack.start_postgres()
        stack.create_database()
        stack.start_redis()
        emulator = stack.start_emulator()
        stack.setup_django()
        from django.db import connections
        from django.utils import timezone

        from line_integration.models import LineWebhookEvent

        company, _, channel, personas = linked_company(emulator, PEOPLE, webhook=True)
        emulator.set_settings(redelivery={"count": 20, "interval_ms": 5000})
        stack.start_web()
        stack.start_worker()
        stack.start_beat()

        load = Load(emulator, channel, personas, args.rate, args.duration)
        load.start()
        time.sleep(args.stop_after)
        connections.close_all()
        stack.stop_postgres(mode="fast")
        stopped_at = timezone.now()
        print(f"PostgreSQL stopped at {stopped_at:%H:%M:%S}", flush=True)
        time.sleep(args.outage)
        stack.start_postgres()
        back_at = timezone.now()
        print(f"PostgreSQL back at {back_at:%H:%M:%S}", flush=True)
        # The backlog: what candidates sent before the database was back (refused, redelivered).
        backlog = list(load.message_ids)
        backlog_final_at = wait_on_timeline(company, backlog, timeout=300)
        load.join()
        load_end = timezone.now()
        sent = load.message_ids
        print(f"load done: {len(sent)} messages sent by candidates; waiting for the timelines…", flush=True)
        final_at = wait_on_timeline(company, sent, timeout=300)
        timeline = on_timeline(company, sent)
        events = Counter(
            LineWebhookEvent.objects.filter(company=company, line_message_id__in=sent).values_list(
                "line_message_id", flat=True
            )
        )
        stuck = LineWebhookEvent.objects.filter(company=company, processed_at__isnull=True).count()
        statuses = Counter(attempt["status_code"] for attempt in emulator.webhook_log(channel))

    lost = sum(1 for message_id in sent if message_id not in timeline)
    duplicated = sum(n - 1 for n in timeline.values()) + sum(n - 1 for n in events.values())
    refused = sum(n for status, n in statuses.items() if not status or status >= 500)
    seconds = (backlog_final_at - back_at).total_seconds() if backlog_final_at else None
    print()
    print(f"PostgreSQL stopped under webhook load ({args.rate:.0f} msg/s, {args.outage:.0f} s outage)")
    print(f"  messages sent by candidates         {len(sent)} (send errors at the emulator: {load.errors})")
    print(f"  webhook attempts by status          {dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}")
    print(f"  refused while the database was down {refused} (LINE redelivers them)")
    print(f"  lost (never on a timeline)          {lost}")
    print(f"  duplicated                          {duplicated}")
    print(f"  stuck events (not processed)        {stuck}")
    if seconds is not None:
        print(f"  backlog on timelines after PG back  {max(seconds, 0.0):.1f} s (target ≤ {TARGET_SECONDS} s)")
    if final_at is not None:
        print(f"  all on timelines after the load     {(final_at - load_end).total_seconds():.1f} s")
    ok = lost == 0 and duplicated == 0 and stuck == 0 and seconds is not None and seconds <= TARGET_SECONDS
    ok = ok and final_at is not None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
