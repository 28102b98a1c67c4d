"""Idle-poll benchmark: what an open recruiter tab costs the server while nothing changes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hrmos REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python benchmarks/idle_poll.py

Every open LINE tab, timeline and inbox asks every 2 s, and every recruiter page asks for the
navigation badge every 3 s, whether anything changed since the version it shows (`?v=`). The
answer "nothing new" is a 204 from the session, the user, the candidate's row and one cache
read: no message query, no template. This script measures how many of those one worker answers.

What runs, on loopback:
- PostgreSQL: a separate database (<name>_idle_bench), migrated, with one company, one
  recruiter (a logged-in session), and one candidate with `--messages` LINE messages.
- Redis (`REDIS_URL`) as the cache the version tokens live in.
- One `gunicorn -w 1` sync worker (DEBUG=0), the production settings.
- `wrk` (closed loop, `--connections`, `--duration`) on each poll with the current version,
  checking every answer is a 204; then the LINE tab's poll with a stale version (the region
  rendered afresh, what every poll would cost without the version) for comparison.
Prints requests/s per case. Drops the database at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))

LUA = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = tonumber(args[1])
  unexpected = 0
end

function response(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
  local other = 0
  for _, thread in ipairs(threads) do other = other + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"unexpected":%d,"socket_errors":%d,"p50":%d,"p99":%d}\n',
    summary.requests, summary.duration, other, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

SETUP = """
import django; django.setup()
from django.test import Client
from django.utils import timezone
from candidates.models import Candidate, Stage, ensure_default_stages
from hrmos.models import Company, User
from messaging.receiving import inbound

company = Company.objects.create(name="ベンチマーク株式会社")
user = User.objects.create_user(username="bench", password="x" * 20, company=company, last_name="採用")
ensure_default_stages(company)
stage = Stage.objects.filter(company=company).order_by("position").first()
candidate = Candidate.objects.create(
    company=company, last_name="山田", first_name="花子", email="h@example.com", stage=stage
)
for n in range({messages}):
    inbound.add_incoming_line_message(
        candidate, line_message_id=str(100000 + n), occurred_at=timezone.now(), text=f"{{n}}通目のメッセージです。"
    )
client = Client()
client.force_login(user)
print(candidate.pk, client.cookies["sessionid"].value)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--messages", type=int, default=100, help="LINE messages on the candidate (default 100)")
    parser.add_argument("--port", type=int, default=8180, help="port for gunicorn (default 8180)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args()


def bench_urls() -> tuple[str, str, str]:
    """(admin URL on the 'postgres' database, benchmark URL, benchmark database name)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name")
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "hrmos") + "_idle_bench"
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path="/" + name)), name


def psql_admin(admin_url: str, statement: str) -> None:
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def app_env(bench_url: str, redis_url: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LINE_"))}
    env.update(
        DATABASE_URL=bench_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        DEBUG="0",
        SECRET_KEY="idle-poll-benchmark-" + "x" * 40,
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SITE_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="hrmos.settings",
    )
    return env


def prepare(admin_url: str, name: str, env: dict[str, str], messages: int) -> tuple[int, str]:
    """Migrate a fresh database and fill it; returns (candidate pk, session cookie)."""
    psql_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    psql_admin(admin_url, f'CREATE DATABASE "{name}"')
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    code = SETUP.format(messages=messages)
    done = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"could not fill the database:\n{done.stderr}")
    pk, session = done.stdout.strip().splitlines()[-1].split()
    return int(pk), session


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    command = [GUNICORN, "hrmos.wsgi:application", "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn did not start:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    sys.exit(f"gunicorn did not listen on {port}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def fetch(port: int, path: str, session: str) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": f"sessionid={session}"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return response.status, response.read().decode()


def poll_path(page: str, view: str) -> str:
    match = re.search(rf'hx-get="([^"]*/{view}/\?v=[^"]*)"', page)
    if not match:
        sys.exit(f"no {view} poll on the page")
    return match.group(1).replace("&amp;", "&")


def worker_pid(server: subprocess.Popen) -> int:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    if len(children) != 1:
        sys.exit(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(port: int, path: str, session: str, expected: int, args: argparse.Namespace, folder: Path) -> dict:
    script = folder / "poll.lua"
    script.write_text(LUA)
    command = [
        "wrk",
        "-t2",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "5s",
        "-H",
        f"Cookie: sessionid={session}",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
        "--",
        str(expected),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) + f" on {os.cpu_count()} cores"


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        sys.exit("This benchmark needs Redis for the cache: set REDIS_URL=redis://host:6379/<db>")
    admin_url, bench_url, name = bench_urls()
    env = app_env(bench_url, redis_url)
    print(f"Preparing {name} ({args.messages} LINE messages) …", flush=True)
    candidate, session = prepare(admin_url, name, env, args.messages)
    folder = Path(tempfile.mkdtemp(prefix="idle-poll-bench-"))
    server = start_server(env, args.port, folder / "gunicorn.log")
    try:
        line_tab = fetch(args.port, f"/messages/candidates/{candidate}/line/", session)[1]
        timeline = fetch(args.port, f"/messages/candidates/{candidate}/timeline/", session)[1]
        inbox = fetch(args.port, "/messages/inbox/", session)[1]
        badge = fetch(args.port, "/messages/inbox/badge/", session)[1]  # a fresh page's first poll
        line_poll = poll_path(line_tab, "line/live")
        cases = [
            ("LINE tab, nothing new (204)", line_poll, 204),
            ("timeline, nothing new (204)", poll_path(timeline, "timeline/live"), 204),
            ("inbox, nothing new (204)", poll_path(inbox, "inbox/live"), 204),
            ("nav badge, nothing new (204)", poll_path(badge, "inbox/badge"), 204),
            (f"LINE tab, rendered anew ({args.messages} messages, 200)", line_poll.split("?")[0] + "?v=stale", 200),
        ]
        for _, path, expected in cases:
            status = fetch(args.port, path, session)[0]
            if status != expected:
                sys.exit(f"{path} answered {status}, expected {expected}")
        worker = worker_pid(server)
        print(f"One gunicorn sync worker, wrk -c{args.connections} -d{args.duration}s, loopback, load {load()}:")
        print(f"  {'':<52} {'req/s':>8} {'p50 ms':>8} {'CPU ms/req':>11} {'req/s per core':>15}")
        for label, path, expected in cases:
            before = cpu_seconds(worker)
            figures = run_wrk(args.port, path, session, expected, args, folder)
            cpu_ms = (cpu_seconds(worker) - before) * 1000 / max(figures["requests"], 1)
            print(
                f"  {label:<52} {figures['rps']:8.0f} {figures['p50'] / 1000:8.1f} {cpu_ms:11.2f}"
                f" {1000 / cpu_ms if cpu_ms else 0:15.0f}"
                + (f"   unexpected statuses {figures['unexpected']}" if figures["unexpected"] else "")
                + (f"   socket errors {figures['socket_errors']}" if figures["socket_errors"] else ""),
                flush=True,
            )
        print(
            "req/s is what the worker answered on this machine as it was; CPU ms/req is the worker's own"
            " CPU time per answer (PostgreSQL and Redis not included), and req/s per core = 1000 / that:"
            " what the worker sustains with a core to itself."
        )
    finally:
        stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)
        if not args.keep:
            psql_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
