"""Fan-out benchmark: a 10,000-recipient email + LINE bulk send through the real pipeline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hrmos REDIS_URL=redis://127.0.0.1:6379/0 \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/1 .venv/bin/python benchmarks/fanout.py [--recipients 10000]

It creates a scratch database (`<name>_fanout_bench`, dropped and re-created), starts the LINE
emulator and a Celery worker with 2 pool processes, and measures in one run:

- pipeline: the compose request (POST /messages/compose/ for "all matching", through the
  whole Django stack), the time until every delivery is final, LINE pushes/s and emails/s,
  the peak RSS of each worker process, and duplicates / losses per retry key at the emulator;
- (a) the emulator's ceiling: a bare line-bot-sdk push loop with no database (one thread,
  and 32 threads);
- (b) the naive baseline: in the request, for each recipient send the email, push with the
  SDK and insert a row (measured at two sizes to show it grows with N).

Email goes to Django's file backend in a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _scratch_database(url: str) -> str:
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_fanout_bench"
    admin = psycopg2.connect(
        dbname="postgres", user=parts.username, password=parts.password, host=parts.hostname, port=parts.port or 5432
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunsplit(parts._replace(path="/" + name))


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in task.read_text().split()]
    return found


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak: dict[int, float] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            for pid in [self.pid, *_children(self.pid)]:
                self.peak[pid] = max(self.peak.get(pid, 0.0), _rss_mb(pid))
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--naive", default="500,2000", help="recipient counts for the naive baseline")
    parser.add_argument("--ceiling", type=int, default=3000, help="pushes in each ceiling loop")
    args = parser.parse_args()

    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name):
            sys.exit(f"{name} must be set (PostgreSQL + Redis): see the docstring.")
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit("DATABASE_URL must point at PostgreSQL.")

    tmp = Path(tempfile.mkdtemp(prefix="fanout-"))
    mail_dir = tmp / "mail"
    mail_dir.mkdir()
    port = _free_port()
    emulator_url = f"http://127.0.0.1:{port}"
    os.environ.update(
        DATABASE_URL=_scratch_database(os.environ["DATABASE_URL"]),
        DJANGO_SETTINGS_MODULE="hrmos.settings",
        LINE_API_BASE=emulator_url,
        LINE_API_DATA_BASE=emulator_url,
        LINE_ACCESS_BASE=emulator_url,
        EMAIL_URL=f"file:///{mail_dir}",
        VAR_DIR=str(tmp / "var"),
        LOG_LEVEL="WARNING",
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    emulator = subprocess.Popen(
        [sys.executable, "-m", "line_emulator", "--port", str(port), "--data", str(tmp / "emulator.sqlite3")],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        import requests

        from tests.line_emulator_fixtures import EmulatorClient

        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{emulator_url}/_emu/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                sys.exit("the emulator did not start")
            time.sleep(0.2)
        emu = EmulatorClient(emulator_url)
        report = run(args, emu, emulator_url, env, mail_dir)
        print_report(report, args)
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=10)


def run(args, emu, emulator_url: str, env: dict, mail_dir: Path) -> dict:
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage

    from candidates.models import Candidate, Stage
    from hrmos.celery import app as celery_app
    from hrmos.models import Company, User
    from line_integration.api import tokens
    from line_integration.linking import actions
    from line_integration.models import LineAccount, LineIntegration
    from messaging.models import Message, Send

    report: dict = {}
    n = args.recipients
    naive_sizes = [int(x) for x in args.naive.split(",") if x]
    print(f"setting up {n:,} candidates and LINE personas…", flush=True)
    pair = emu.create_linked_pair(callback_url="http://localhost:8000/line/callback/x/")
    channel_id = pair.messaging_channel_id
    company = Company.objects.create(name="株式会社ベンチマーク")
    recruiter = User.objects.create_user(username="bench", company=company, last_name="採用", first_name="太郎")
    actions.link(
        company,
        recruiter,
        actions.ChannelCredentials(
            messaging_channel_id=pair.messaging_channel_id,
            messaging_channel_secret=pair.messaging_channel_secret,
            login_channel_id=pair.login_channel_id,
            login_channel_secret=pair.login_channel_secret,
        ),
    )

    def persona(i: int) -> str:
        pid = emu.create_persona(f"候補者{i}", persona_id=f"bench{i:05d}")
        return emu.user_id(channel_id, pid)

    with ThreadPoolExecutor(8) as pool:
        user_ids = list(pool.map(persona, range(n)))
    stage = Stage.objects.filter(company=company).order_by("position").first()
    people = []
    for i in range(n):
        candidate = Candidate(
            company=company, last_name=f"候補{i}", first_name="花子", email=f"c{i}@example.com", stage=stage
        )
        if hasattr(candidate, "prepare_for_save"):
            candidate.prepare_for_save()
        people.append(candidate)
    Candidate.objects.bulk_create(people, batch_size=2000)
    people = list(Candidate.objects.filter(company=company).order_by("pk"))
    LineAccount.objects.bulk_create(
        [
            LineAccount(company=company, candidate=c, line_user_id=uid, friend_state=LineAccount.FriendState.FRIEND)
            for c, uid in zip(people, user_ids, strict=True)
        ],
        batch_size=2000,
    )
    integration = LineIntegration.objects.get(company=company)
    token = tokens.channel_token(integration)

    # (a) The emulator's ceiling: a bare SDK push loop, no database.
    def sdk() -> MessagingApi:
        config = Configuration(host=emulator_url, access_token=token)
        config.retries = False
        config.connection_pool_maxsize = 64
        return MessagingApi(ApiClient(config))

    def bare_push(api: MessagingApi, i: int) -> None:
        api.push_message(
            PushMessageRequest(to=user_ids[i % n], messages=[TextMessage(text=f"ceiling {i}")]),
            x_line_retry_key=str(uuid.uuid4()),
            _request_timeout=(3, 10),
        )

    api = sdk()
    started = time.perf_counter()
    for i in range(args.ceiling):
        bare_push(api, i)
    report["ceiling_1"] = args.ceiling / (time.perf_counter() - started)
    api = sdk()
    started = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda i: bare_push(api, i), range(args.ceiling)))
    report["ceiling_32"] = args.ceiling / (time.perf_counter() - started)
    print(f"ceiling: {report['ceiling_1']:.0f}/s (1 thread), {report['ceiling_32']:.0f}/s (32 threads)", flush=True)
    ceiling_keys = {row["retry_key"] for row in emu.outbox(channel_id)}

    # The pipeline: 2 worker processes, compose through the view, wait for every row.
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hrmos", "worker", "-c", "2", "-P", "prefork", "--loglevel", "WARNING",
         "-n", f"fanout-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=REPO, env={**env, "DATABASE_URL": os.environ["DATABASE_URL"]}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _measure_pipeline(report, worker, recruiter, company, n, emu, channel_id, ceiling_keys, mail_dir)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    send = Send.objects.get(company=company)

    # (b) The naive baseline, in the request: email, SDK push, row insert, one recipient at a time.
    from django.core.mail import EmailMessage, get_connection

    report["naive"] = {}
    naive_api = sdk()
    for size in naive_sizes:
        started = time.perf_counter()
        with get_connection() as mail_connection:
            for candidate, uid in zip(people[:size], user_ids[:size], strict=True):
                text = f"{candidate.last_name} {candidate.first_name}様\n会社説明会のご案内をお送りします。"
                EmailMessage("会社説明会のご案内", text, to=[candidate.email], connection=mail_connection).send()
                naive_api.push_message(
                    PushMessageRequest(to=uid, messages=[TextMessage(text=text)]), x_line_retry_key=str(uuid.uuid4())
                )
                Message.objects.create(
                    company=company, candidate=candidate, channel="email", direction="out",
                    subject="会社説明会のご案内", body=text, occurred_at=send.created_at,
                )  # fmt: skip
        seconds = time.perf_counter() - started
        report["naive"][size] = (seconds, size / seconds)
        print(f"naive {size:,}: {seconds:.1f} s", flush=True)
    return report


def _measure_pipeline(report, worker, recruiter, company, n, emu, channel_id, ceiling_keys, mail_dir) -> None:
    from django.test import Client

    from messaging.models import Channel, Delivery, Send

    time.sleep(6)  # the worker connects, forks its pool and warms up
    sampler = RssSampler(worker.pid)
    sampler.start()
    web = Client()
    web.force_login(recruiter)
    body = (
        "{{候補者氏名}}様\n\n{{企業名}}の{{送信者名}}です。会社説明会のご案内をお送りします。\n"
        + "詳細は以下の通りです。\n" * 5
    )
    print(f"composing a {n:,}-recipient email + LINE send…", flush=True)
    started = time.perf_counter()
    response = web.post(
        "/messages/compose/",
        {"compose": "1", "all_matching": "1", "query": "", "subject": "会社説明会のご案内", "body": body,
         "send_line": "on", "timing": "now"},
    )  # fmt: skip
    report["compose_seconds"] = time.perf_counter() - started
    assert response.status_code == 302, response.content[:2000]
    send = Send.objects.get(company=company)
    while Delivery.objects.filter(send=send, status__in=["queued", "sending", "scheduled"]).exists():
        if time.perf_counter() - started > 900:
            break
        time.sleep(0.25)
    report["final_seconds"] = time.perf_counter() - started
    sampler.running = False
    sampler.join()
    report["rss"] = dict(sampler.peak)
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)

    statuses = Counter(Delivery.objects.filter(send=send).values_list("channel", "status"))
    report["statuses"] = statuses
    line_rows = list(Delivery.objects.filter(send=send, channel=Channel.LINE).values_list("id", "status", "sent_at"))
    email_times = list(Delivery.objects.filter(send=send, channel=Channel.EMAIL).values_list("sent_at", flat=True))
    compose_started = send.created_at - timedelta(seconds=report["compose_seconds"])
    first_line = min(t for _, _, t in line_rows if t)
    last_line = max(t for _, _, t in line_rows if t)
    last_email = max(t for t in email_times if t)
    # End to end: from the recruiter pressing 送信 to the last push / email of that channel.
    report["line_seconds"] = (last_line - compose_started).total_seconds()
    report["email_seconds"] = (last_email - compose_started).total_seconds()
    report["line_rate"] = statuses[("line", "sent")] / report["line_seconds"]
    report["email_rate"] = statuses[("email", "sent")] / report["email_seconds"]
    report["line_active_rate"] = statuses[("line", "sent")] / max((last_line - first_line).total_seconds(), 1e-6)
    outbox = Counter(row["retry_key"] for row in emu.outbox(channel_id) if row["retry_key"] not in ceiling_keys)
    ours = {str(pk) for pk, _, _ in line_rows}
    report["duplicates"] = sum(count - 1 for key, count in outbox.items() if key in ours and count > 1)
    report["lost"] = len(ours - set(outbox)) + sum(1 for _, status, _ in line_rows if status != "sent")
    report["strangers"] = len(set(outbox) - ours)
    written = Counter(
        line.split(":", 1)[1].strip()
        for path in mail_dir.glob("*.log")
        for line in path.read_text(errors="replace").splitlines()
        if line.startswith("Message-ID:")
    )
    report["emails_written"] = sum(written.values())
    report["email_duplicates"] = sum(count - 1 for count in written.values())
    report["email_lost"] = statuses[("email", "sent")] != n


def print_report(r: dict, args) -> None:
    n = args.recipients
    ceiling = max(r["ceiling_1"], r["ceiling_32"])
    naive_rates = [rate for _, rate in r["naive"].values()]
    print()
    print(f"Fan-out benchmark: {n:,} recipients, email + LINE, 2 worker processes, PostgreSQL + Redis")
    print(f"machine: {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    print()
    rows = [
        ("compose request (POST /messages/compose/)", f"{r['compose_seconds']:.2f} s", "< 2 s"),
        ("until every delivery is final", f"{r['final_seconds']:.1f} s", ""),
        ("  last LINE push accepted (from 送信)", f"{r['line_seconds']:.1f} s", ""),
        ("  last email sent (from 送信)", f"{r['email_seconds']:.1f} s", ""),
        ("LINE pushes/s (end to end)", f"{r['line_rate']:.0f}", f"> naive, ≥ 60 % of ceiling ({0.6 * ceiling:.0f})"),
        ("LINE pushes/s (first to last push)", f"{r['line_active_rate']:.0f}", ""),
        ("emails/s (end to end)", f"{r['email_rate']:.0f}", ""),
        ("LINE end-to-end / emulator ceiling", f"{r['line_rate'] / ceiling:.0%}", "≥ 60 %"),
        ("peak worker RSS (per process)", ", ".join(f"{mb:.0f} MB" for mb in r["rss"].values()), "< 300 MB"),
        ("duplicates per retry key", str(r["duplicates"]), "0"),
        ("losses (LINE rows not sent or absent)", str(r["lost"]), "0"),
        ("email rows sent / emails written", f"{r['statuses'][('email', 'sent')]:,} / {r['emails_written']:,}", ""),
        ("email duplicates (same Message-ID twice)", str(r["email_duplicates"]), "0"),
        ("(a) emulator ceiling, bare SDK loop", f"{r['ceiling_1']:.0f}/s (1 thread), {r['ceiling_32']:.0f}/s (32)", ""),
    ]
    for size, (seconds, rate) in r["naive"].items():
        rows.append((f"(b) naive in-request, {size:,} recipients", f"{seconds:.1f} s ({rate:.0f} recipients/s)", ""))
    if naive_rates:
        rows.append((f"(b) naive extrapolated to {n:,}", f"{n / min(naive_rates):.0f} s request", ""))
    width = max(len(label) for label, _, _ in rows)
    print(f"{'measure':<{width}}  {'result':<34}  target")
    print("-" * (width + 50))
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:<34}  {target}")
    print()
    print("delivery statuses:", dict(r["statuses"]))


if __name__ == "__main__":
    main()
