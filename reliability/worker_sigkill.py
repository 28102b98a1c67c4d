"""Crash experiment: the Celery worker SIGKILLed (with its pool) in the middle of a bulk send.

    .venv/bin/python reliability/worker_sigkill.py [--recipients 2000] [--kill-at 0.3] [--restart-after 0]

Starts private PostgreSQL (55432), Redis (56379), the LINE emulator, beat and a worker with
production settings, sends one email + LINE message to every recipient (all LINE friends),
SIGKILLs the worker's process group once `--kill-at` of the LINE pushes are done, starts a
fresh worker (at once, or `--restart-after` seconds later), and prints what became of every
delivery: lost, duplicated LINE messages (at the emulator: more than one push per recipient
or per retry key), stuck, and the time until every delivery was final, counted from the
moment the new worker was ready.
Targets: 0 lost, 0 duplicated, ≤ 90 s. Stops everything it started; exit status 1 if a
target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reliability.sends import counts, outcome, send_to_all, sent_on_line, wait_until_final
from reliability.stack import Stack, linked_company, wait_for

TARGET_SECONDS = 90


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--kill-at", type=float, default=0.3, help="share of LINE pushes done when the worker dies")
    parser.add_argument("--restart-after", type=float, default=0.0, help="seconds before a new worker is started")
    args = parser.parse_args()

    with Stack("sigkill") as stack:
        stack.start_postgres()
        stack.create_database()
        stack.start_redis()
        emulator = stack.start_emulator()
        stack.setup_django()
        from django.utils import timezone

        print(f"setting up {args.recipients} LINE friends…", flush=True)
        company, recruiter, channel, _ = linked_company(emulator, args.recipients)
        stack.start_beat()
        stack.start_worker()

        send = send_to_all(company, recruiter, "{{候補者氏名}}様\n説明会のご案内です。")
        wait_for(lambda: sent_on_line(send) >= args.recipients * args.kill_at, 300, "the send to get going", 0.05)
        stack.kill("worker")
        killed_at = timezone.now()
        at_kill = counts(send)
        print(f"SIGKILL at {killed_at:%H:%M:%S}: {dict(sorted(at_kill.items()))}", flush=True)

        time.sleep(args.restart_after)
        stack.start_worker("worker-2")
        live_at = timezone.now()
        print(f"a new worker is ready {(live_at - killed_at).total_seconds():.1f} s after the kill", flush=True)
        final_at = wait_until_final(send, timeout=600)
        result = outcome(send, emulator, channel, stack.tmp / "mail")

    in_flight = at_kill[("line", "sending")] + at_kill[("email", "sending")]
    seconds = (final_at - live_at).total_seconds() if final_at else None
    print()
    print("worker SIGKILL mid-send")
    print(f"  recipients (LINE + email each)      {result.recipients}")
    print(f"  in flight at the kill (sending)     {in_flight}")
    print(f"  LINE lost                           {result.lost}")
    print(f"  LINE duplicated                     {result.duplicated}")
    print(f"  stuck (not final at the end)        {result.stuck}")
    print(f"  emails sent twice (at least once)   {result.emails_twice}")
    if final_at:
        print(f"  time to final after the new worker  {seconds:.1f} s (target ≤ {TARGET_SECONDS} s)")
        print(f"  time to final after the kill        {(final_at - killed_at).total_seconds():.1f} s")
    print(f"  final statuses                      {result.statuses}")
    print(f"  attempts recorded, by outcome       {result.attempts}")
    ok = result.lost == 0 and result.duplicated == 0 and result.stuck == 0 and seconds is not None
    return 0 if ok and seconds is not None and seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
