"""Crash experiment: Redis (broker, cache and the LINE rate-limit bucket) restarted in the
middle of a bulk send, losing everything it held.

    .venv/bin/python reliability/redis_restart.py [--recipients 2000] [--outage 60] [--stop-at 0.3]

Starts private PostgreSQL (55432), Redis (56379, no persistence: a restart loses every queued
and unacknowledged task), the LINE emulator, beat and a worker with production settings,
sends one email + LINE message to every recipient, stops Redis once `--stop-at` of the LINE
pushes are done, starts it again after `--outage` seconds, and prints: lost and duplicated
LINE messages, stuck deliveries, tasks that failed (in the worker's log), how long after
Redis returned the first push went out (the send resumed), and when every delivery was
final. Targets: 0 lost, 0 duplicated, 0 failed tasks, resumed ≤ 30 s after Redis returned.
Stops everything it started; exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reliability.sends import counts, outcome, push_times, send_to_all, sent_on_line, wait_until_final
from reliability.stack import Stack, linked_company, wait_for

TARGET_RESUME_SECONDS = 30
FAILED_TASK = re.compile(r"Task [\w.]+\[[\w-]+\] raised unexpected")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds Redis stays down")
    parser.add_argument("--stop-at", type=float, default=0.3, help="share of LINE pushes done when Redis stops")
    args = parser.parse_args()

    with Stack("redis") as stack:
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
        wait_for(lambda: sent_on_line(send) >= args.recipients * args.stop_at, 300, "the send to get going", 0.05)
        stack.stop("redis")
        stopped_at = timezone.now()
        print(f"Redis stopped at {stopped_at:%H:%M:%S}: {dict(sorted(counts(send).items()))}", flush=True)
        time.sleep(args.outage)
        during = counts(send)
        stack.start_redis()
        back_at = timezone.now()
        print(f"Redis back at {back_at:%H:%M:%S}: {dict(sorted(during.items()))}", flush=True)
        final_at = wait_until_final(send, timeout=600)
        result = outcome(send, emulator, channel, stack.tmp / "mail")
        after = [moment for moment in push_times(emulator, channel) if moment >= back_at]
        pushed_during = sum(1 for moment in push_times(emulator, channel) if stopped_at <= moment < back_at)
        worker_log = stack.log_text("worker")

    failed_tasks = len(FAILED_TASK.findall(worker_log))
    resumed = (after[0] - back_at).total_seconds() if after else None
    print()
    print(f"Redis restart mid-send ({args.outage:.0f} s outage, nothing persisted)")
    print(f"  recipients (LINE + email each)      {result.recipients}")
    print(f"  LINE pushes during the outage       {pushed_during}")
    print(f"  LINE lost                           {result.lost}")
    print(f"  LINE duplicated                     {result.duplicated}")
    print(f"  stuck (not final at the end)        {result.stuck}")
    print(f"  failed tasks (worker log)           {failed_tasks}")
    print(f"  emails sent twice (at least once)   {result.emails_twice}")
    if resumed is not None:
        print(f"  first push after Redis returned     {resumed:.1f} s (target ≤ {TARGET_RESUME_SECONDS} s)")
    else:
        print("  first push after Redis returned     none (all LINE pushes were done before)")
    if final_at and final_at >= back_at:
        print(f"  time to final after Redis returned  {(final_at - back_at).total_seconds():.1f} s")
    elif final_at:
        print("  time to final after Redis returned  0 s (every delivery was final during the outage)")
    print(f"  final statuses                      {result.statuses}")
    print(f"  attempts recorded, by outcome       {result.attempts}")
    ok = result.lost == 0 and result.duplicated == 0 and result.stuck == 0 and failed_tasks == 0
    return 0 if ok and (resumed is None or resumed <= TARGET_RESUME_SECONDS) else 1


if __name__ == "__main__":
    sys.exit(main())
