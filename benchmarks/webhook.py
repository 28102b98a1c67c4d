"""LINE webhook benchmark: the Django webhook against a minimal line-bot-sdk Flask baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hrmos .venv/bin/python benchmarks/webhook.py

What runs, in one go, on loopback:
- PostgreSQL: a separate database (<name>_webhook_bench), migrated, with one 連携中 company.
  Redis as the Celery broker (its own DB number, `--broker`; no worker runs, so the queue
  length after a run is the number of tasks the webhook enqueued).
- Five servers, each `gunicorn -w 2`, one after the other, `--rounds` times (medians):
  * **baseline**: benchmarks/webhook_baseline_flask.py (sync workers), verifying and parsing
    with the SDK's `WebhookHandler` and storing nothing; **baseline-t**: the same with gthread
    workers. The stronger of the two is the reference (× base). Gthread workers (baseline-t and
    django) each get a listening socket (`--reuse-port`, as in docker-compose.yml) unless
    `--shared-socket`; each wrk run prints how its connections spread over the workers;
  * **django**: the real app (DEBUG=0, gthread workers, `--gthreads` threads each),
    `POST /line/webhook/<public_id>/`: signature, the event stored durably (INSERT … ON
    CONFLICT DO NOTHING, committed) before the 200, processing woken after the commit;
    **django-s**: the same with sync workers;
  * **plain**: the same app with LINE_WEBHOOK_FAST_PATH=0, i.e. the plain view
    (line_integration/webhook/views.py) through sessions/CSRF/auth/CSP/axes…, sync workers:
    what the webhook costs without its fast path.
- Load: every request is a different pre-signed body with one `message` event and a unique
  `webhookEventId` (a pool large enough never to repeat).
  * throughput: `wrk` (closed loop, `--connections`, `--duration`), with a Lua script rotating
    the bodies; requests/s and wrk's latency percentiles;
  * latency at a fixed rate: wrk2 is not available and wrk cannot pace, so a small Python
    generator sends `--rate` requests/s on a fixed schedule from a thread pool and measures
    each latency from the request's *scheduled* time (no coordinated omission).
- Checks: non-2xx responses; rows stored = events sent (every body is unique, so fewer rows
  would be a loss and more a duplicate; exact for the paced runs, and for wrk up to the
  `--connections` requests in flight when it stops, which the server still stores); tasks
  enqueued; INSERT statements (distinct `xmin` of the new rows: the group commit at work).
- Also the cost of one Celery publish to Redis, which is why the webhook does not publish per
  request (see line_integration/processing/tasks.py).

Targets: p99 < 50 ms at 200 req/s; django throughput ≥ 0.6× baseline (stretch 1.0×); 0 non-2xx;
rows = events. benchmarks/README.md has the figures, what moved them and what was tried.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
SECRET = "b7e1c2d3a4f5061728394a5b6c7d8e9f"
BOT_USER_ID = "U" + "b" * 32
USER_ID = "U" + "a" * 32

LUA = r"""
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  target = args[3]
  bodies = {}
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid then
      local tab = string.find(line, "\t", 1, true)
      bodies[#bodies + 1] = {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)}
    end
    i = i + 1
  end
  idx = 0
end

function request()
  idx = idx + 1
  local b = bodies[((idx - 1) % #bodies) + 1]
  return wrk.format("POST", target, {["Content-Type"] = "application/json; charset=utf-8",
                                     ["X-Line-Signature"] = b[1]}, b[2])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--gthreads", type=int, default=8, help="threads per gunicorn gthread worker (default 8)")
    parser.add_argument("--only", default="", help="comma-separated server names to run (default: all)")
    parser.add_argument("--rate", type=int, default=200, help="fixed rate for the latency run (default 200/s)")
    parser.add_argument("--rate-seconds", type=int, default=15, help="length of the fixed-rate run (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="alternate the servers this many times (default 2)")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14", help="Redis for the Celery broker")
    parser.add_argument("--pool", type=int, default=0, help="bodies per run (default: sized from a 12k req/s guess)")
    parser.add_argument("--first-port", type=int, default=0, help="first port of the servers (default: any free)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--skip-plain", action="store_true", help="skip the full-middleware calibration server")
    parser.add_argument(
        "--shared-socket",
        action="store_true",
        help="gthread workers share one listening socket instead of one each (SO_REUSEPORT, the default)",
    )
    return parser.parse_args()


def bench_urls() -> tuple[str, str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name")
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "hrmos") + "_webhook_bench"
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path="/" + name)), name


def psql_admin(admin_url: str, statement: str) -> None:
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def free_port(first: int, index: int) -> int:
    """`first + index`, or any free port when no first port is given."""
    if first:
        return first + index
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


_serial = 0


def make_bodies(count: int) -> list[tuple[str, bytes]]:
    """One-event bodies (a Japanese text message) with unique webhookEventIds and message ids."""
    global _serial
    bodies = []
    base_ms = int(time.time() * 1000)
    for _ in range(count):
        _serial += 1
        event = {
            "type": "message",
            "message": {
                "type": "text",
                "id": str(600000000000000000 + _serial),
                "quoteToken": "q3Plxr4AgKd" + str(_serial),
                "text": "お世話になっております。面接の日程について、12月1日の10時からで承知いたしました。"
                "当日はどうぞよろしくお願いいたします。",
            },
            "webhookEventId": f"01JBENCH{_serial:018d}",
            "deliveryContext": {"isRedelivery": False},
            "timestamp": base_ms + _serial,
            "source": {"type": "user", "userId": USER_ID},
            "replyToken": secrets.token_hex(16),
            "mode": "active",
        }
        body = json.dumps({"destination": BOT_USER_ID, "events": [event]}, ensure_ascii=False, separators=(",", ":"))
        raw = body.encode("utf-8")
        bodies.append((sign(raw), raw))
    return bodies


def write_pool(bodies: list[tuple[str, bytes]], folder: Path) -> Path:
    path = folder / f"bodies-{_serial}.txt"
    with path.open("wb") as handle:
        for signature, body in bodies:
            handle.write(signature.encode() + b"\t" + body + b"\n")
    return path


@dataclass
class Server:
    name: str
    label: str
    port: int
    path: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log: Path | None = None

    def start(self, folder: Path) -> None:
        self.log = folder / f"{self.name}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} did not start:\n{self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        sys.exit(f"{self.name} did not listen on {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Figures:
    requests: int = 0
    seconds: float = 0.0
    non2xx: int = 0
    socket_errors: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    rows: int | None = None
    tasks: int | None = None
    commits: int | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Results:
    throughput: dict[str, list[Figures]] = field(default_factory=dict)
    paced: dict[str, list[Figures]] = field(default_factory=dict)


def run_wrk(server: Server, pool: Path, args: argparse.Namespace, folder: Path, seconds: int) -> Figures:
    script = folder / "rotate.lua"
    script.write_text(LUA)
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://127.0.0.1:{server.port}",
        "--",
        str(pool),
        str(args.threads),
        server.path,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return Figures(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non2xx=data["non2xx"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        p50=data["p50"] / 1000,
        p95=data["p95"] / 1000,
        p99=data["p99"] / 1000,
    )


def run_paced(server: Server, bodies: list[tuple[str, bytes]], rate: int, seconds: int) -> Figures:
    """`rate` requests per second on a fixed schedule; latency from each scheduled send time."""
    total = rate * seconds
    jobs: queue.Queue = queue.Queue()
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while (job := jobs.get()) is not None:
            index, when = job
            delay = when - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            signature, body = bodies[index]
            try:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                connection.request(
                    "POST",
                    server.path,
                    body,
                    {"Content-Type": "application/json; charset=utf-8", "X-Line-Signature": signature},
                )
                response = connection.getresponse()
                response.read()
                status = response.status
                connection.close()
            except OSError:
                status = 0
            elapsed = time.perf_counter() - when
            with lock:
                latencies.append(elapsed * 1000)
                statuses.append(status)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(64)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.2
    for index in range(total):
        jobs.put((index, start + index / rate))
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return Figures(
        requests=total,
        seconds=seconds,
        non2xx=sum(1 for s in statuses if not 200 <= s < 300),
        p50=pct(50),
        p95=pct(95),
        p99=pct(99),
    )


def connection_split(server: Server) -> str:
    """How wrk's connections are spread over the workers, 3 s into the run (e.g. "8/8"): with
    one shared listening socket the first worker to wake can take nearly all of them. Sync
    workers hold a connection only for one request ("-")."""
    if "gthread" not in server.command:
        return "-"
    time.sleep(3)
    listing = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{server.port} )"], capture_output=True, text=True
    ).stdout
    counts: dict[str, int] = {}
    for line in listing.splitlines():
        if "pid=" in line:  # accepted by a worker (not still in the listen backlog)
            pid = line.split("pid=", 1)[1].split(",", 1)[0]
            counts[pid] = counts.get(pid, 0) + 1
    return "/".join(str(n) for n in sorted(counts.values(), reverse=True)) or "?"


def count_rows(bench_url: str) -> int:
    import psycopg2

    connection = psycopg2.connect(bench_url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT webhook_event_id) FROM line_integration_linewebhookevent")
        rows, distinct = cursor.fetchone()
    connection.close()
    if rows != distinct:
        sys.exit(f"DUPLICATE ROWS: {rows} rows, {distinct} distinct event ids")
    return rows


def max_id(bench_url: str) -> int:
    import psycopg2

    connection = psycopg2.connect(bench_url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM line_integration_linewebhookevent")
        (value,) = cursor.fetchone()
    connection.close()
    return int(value)


def inserts_since(bench_url: str, after_id: int) -> int:
    """How many INSERT transactions stored the rows after `after_id`: rows written by one
    statement share its transaction id (xmin), so this shows the group commit at work."""
    import psycopg2

    connection = psycopg2.connect(bench_url)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT xmin::text) FROM line_integration_linewebhookevent WHERE id > %s", [after_id]
        )
        (value,) = cursor.fetchone()
    connection.close()
    return int(value)


def broker_queue_length(broker: str) -> int:
    import redis

    return int(redis.Redis.from_url(broker).llen("celery"))


def app_env(bench_url: str, broker: str, fernet_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LINE_"))}
    env.update(
        DATABASE_URL=bench_url,
        REDIS_URL=broker,
        CELERY_BROKER_URL=broker,
        DEBUG="0",
        SECRET_KEY="webhook-benchmark-" + "x" * 40,
        FIELD_ENCRYPTION_KEYS=fernet_key,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="hrmos.settings",
    )
    return env


def prepare_database(admin_url: str, bench_url: str, name: str, env: dict[str, str]) -> str:
    """Migrate a fresh database and link one company; returns its public id."""
    psql_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    psql_admin(admin_url, f'CREATE DATABASE "{name}"')
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup = (
        "import django; django.setup()\n"
        "from hrmos.models import Company\n"
        "from line_integration.models import LineIntegration\n"
        "c = Company.objects.create(name='ベンチマーク株式会社')\n"
        f"LineIntegration.objects.create(company=c, status='linked', messaging_channel_id='1234567890',"
        f" messaging_channel_secret='{SECRET}', bot_user_id='{BOT_USER_ID}')\n"
        "print(c.public_id)\n"
    )
    done = subprocess.run([PYTHON, "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def publish_cost(env: dict[str, str], broker: str) -> float:
    """Microseconds per `process_pending.apply_async()` to the Redis broker (then removed)."""
    code = (
        "import time, django; django.setup()\n"
        "from line_integration.processing.tasks import process_pending\n"
        "process_pending.apply_async()\n"
        "n = 2000; t = time.perf_counter()\n"
        "for _ in range(n): process_pending.apply_async()\n"
        "print((time.perf_counter() - t) / n * 1e6)\n"
    )
    before = broker_queue_length(broker)
    done = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    import redis

    client = redis.Redis.from_url(broker)
    for _ in range(broker_queue_length(broker) - before):
        client.lpop("celery")
    return float(done.stdout.strip().splitlines()[-1])


def median(figures: list[Figures], attribute: str) -> float:
    return statistics.median(getattr(f, attribute) for f in figures)


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    from cryptography.fernet import Fernet

    admin_url, bench_url, name = bench_urls()
    env = app_env(bench_url, args.broker, Fernet.generate_key().decode())
    print(f"Preparing {name} …", flush=True)
    public_id = prepare_database(admin_url, bench_url, name, env)
    import redis

    redis.Redis.from_url(args.broker).delete("celery")
    folder = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    workers = str(args.workers)
    webhook_path = f"/line/webhook/{public_id}/"
    sync = ["-w", workers]
    threaded = ["-w", workers, "-k", "gthread", "--threads", str(args.gthreads)]
    if not args.shared_socket:
        threaded.append("--reuse-port")  # as in docker-compose.yml; see the module docstring
    flask = ("benchmarks.webhook_baseline_flask:app", {**env, "LINE_CHANNEL_SECRET": SECRET}, "/callback")
    django = ("hrmos.wsgi", env, webhook_path)
    plain_env = {**env, "LINE_WEBHOOK_FAST_PATH": "0"}
    threads = f"{args.gthreads} threads each" + ("" if args.shared_socket else ", a listening socket each")
    variants = [
        ("baseline", "Flask + line-bot-sdk WebhookHandler, sync workers (verify + parse, stores nothing)", flask, sync),
        ("baseline-t", f"the same Flask baseline, gthread workers ({threads})", flask, threaded),
        ("django", f"Django webhook, gthread workers ({threads}): verify, 1 INSERT, wake on commit", django, threaded),
        ("django-s", "the same Django webhook, sync workers", django, sync),
        (
            "plain",
            "Django webhook through the full middleware stack, sync workers",
            ("hrmos.wsgi", plain_env, webhook_path),
            sync,
        ),
    ]
    wanted = set(filter(None, args.only.split(","))) or {name for name, *_ in variants}
    if args.skip_plain:
        wanted.discard("plain")
    servers = [
        Server(name, label, free_port(args.first_port, index), path, [GUNICORN, *worker, "-b", "", module], server_env)
        for index, (name, label, (module, server_env, path), worker) in enumerate(v for v in variants if v[0] in wanted)
    ]
    for server in servers:
        server.command[server.command.index("-b") + 1] = f"127.0.0.1:{server.port}"
        server.command += ["--error-logfile", "-", "--log-level", "warning"]

    pool_size = args.pool or 12_000 * args.duration
    results = Results()
    tasks_published = publish_cost(env, args.broker)
    try:
        for round_number in range(1, args.rounds + 1):
            for server in servers:
                print(f"round {round_number}: {server.name} …", flush=True)
                server.start(folder)
                try:
                    run_wrk(server, write_pool(make_bodies(2000), folder), args, folder, 2)  # warm-up
                    time.sleep(1)  # let the warm-up's in-flight requests land before counting rows
                    pool_file = write_pool(make_bodies(pool_size), folder)
                    rows_before = count_rows(bench_url)
                    queue_before = broker_queue_length(args.broker)
                    id_before = max_id(bench_url)
                    with ThreadPoolExecutor(1) as watcher:
                        split = watcher.submit(connection_split, server)
                        figures = run_wrk(server, pool_file, args, folder, args.duration)
                    if figures.requests > pool_size:
                        print(f"  warning: {figures.requests} requests > pool of {pool_size}: bodies repeated")
                    if not server.name.startswith("baseline"):
                        time.sleep(0.5)
                        figures.rows = count_rows(bench_url) - rows_before
                        figures.tasks = broker_queue_length(args.broker) - queue_before
                        figures.commits = inserts_since(bench_url, id_before)
                    results.throughput.setdefault(server.name, []).append(figures)
                    line = f"  wrk: {figures.rps:.0f} req/s, {figures.requests} answered, rows {figures.rows}, "
                    line += f"p99 {figures.p99:.1f} ms, tasks {figures.tasks}, INSERTs {figures.commits}, "
                    line += f"connections per worker {split.result()}"
                    print(line, flush=True)

                    rows_before = count_rows(bench_url)
                    queue_before = broker_queue_length(args.broker)
                    paced = run_paced(server, make_bodies(args.rate * args.rate_seconds), args.rate, args.rate_seconds)
                    if not server.name.startswith("baseline"):
                        time.sleep(0.5)
                        paced.rows = count_rows(bench_url) - rows_before
                        paced.tasks = broker_queue_length(args.broker) - queue_before
                    results.paced.setdefault(server.name, []).append(paced)
                finally:
                    server.stop()
    finally:
        redis.Redis.from_url(args.broker).delete("celery")
        if not args.keep:
            psql_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
        shutil.rmtree(folder, ignore_errors=True)

    report(args, servers, results, tasks_published)


def report(args: argparse.Namespace, servers: list[Server], results: Results, publish_us: float) -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")  # fmt: skip
    print()
    print(
        f"Machine: {os.cpu_count()} CPUs ({cpu}); gunicorn {args.workers} workers; wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s; {args.rounds} rounds (medians); PostgreSQL + Redis on loopback"
    )
    # The stronger of the two baselines (sync or threaded workers) is the one to beat.
    baselines = [median(runs, "rps") for name, runs in results.throughput.items() if name.startswith("baseline")]
    baseline = max(baselines) if baselines else float("nan")
    print()
    print(f"Throughput (wrk, closed loop, {args.connections} connections)")
    header = f"{'server':<11} {'req/s':>8} {'× base':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
    header += f"{'non-2xx':>8} {'sent':>8} {'rows':>8} {'tasks':>6} {'INSERTs':>8}"
    print(header)
    for server in servers:
        runs = results.throughput[server.name]
        sent = sum(f.requests - f.non2xx for f in runs)
        rows = "-" if runs[0].rows is None else str(sum(f.rows or 0 for f in runs))
        tasks = "-" if runs[0].tasks is None else str(sum(f.tasks or 0 for f in runs))
        commit_count = "-" if runs[0].commits is None else str(sum(f.commits or 0 for f in runs))
        errors = sum(f.non2xx + f.socket_errors for f in runs)
        rps = median(runs, "rps")
        print(
            f"{server.name:<11} {rps:>8.0f} {rps / baseline:>6.2f}× {median(runs, 'p50'):>7.1f} "
            f"{median(runs, 'p95'):>7.1f} {median(runs, 'p99'):>7.1f} {errors:>8} "
            f"{sent:>8} {rows:>8} {tasks:>6} {commit_count:>8}"
        )
    print()
    print(f"Latency at a fixed {args.rate} req/s for {args.rate_seconds} s (from the scheduled send time)")
    print(
        f"{'server':<11} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'non-2xx':>8} {'sent':>8} {'rows':>8} {'tasks':>6}"
    )
    for server in servers:
        runs = results.paced[server.name]
        rows = "-" if runs[0].rows is None else str(sum(f.rows or 0 for f in runs))
        tasks = "-" if runs[0].tasks is None else str(sum(f.tasks or 0 for f in runs))
        print(
            f"{server.name:<11} {median(runs, 'p50'):>7.1f} {median(runs, 'p95'):>7.1f} {median(runs, 'p99'):>7.1f} "
            f"{sum(f.non2xx for f in runs):>8} {sum(f.requests - f.non2xx for f in runs):>8} {rows:>8} {tasks:>6}"
        )
    print()
    for server in servers:
        print(f"  {server.name:<11} {server.label}")
    print(f"  One Celery publish (process_pending.apply_async to Redis) costs {publish_us:.0f} µs in-process.")
    if "django" not in results.throughput:
        return
    django = median(results.throughput["django"], "rps")
    paced_p99 = median(results.paced["django"], "p99")
    # Paced runs know exactly what was sent. wrk stops with up to `connections` requests in
    # flight, which the server may still store: those rows are counted, their answers are not.
    ok_rows = all(f.rows == f.requests - f.non2xx for f in results.paced["django"]) and all(
        0 <= (f.rows or 0) - (f.requests - f.non2xx) <= args.connections for f in results.throughput["django"]
    )
    print()
    print(f"Targets: p99 at {args.rate}/s {paced_p99:.1f} ms (< 50 ms: {'OK' if paced_p99 < 50 else 'MISSED'}); "
          f"throughput {django / baseline:.2f}× baseline (≥ 0.6×: {'OK' if django / baseline >= 0.6 else 'MISSED'}; "
          f"stretch 1.0×: {'OK' if django / baseline >= 1.0 else 'not reached'}); rows = events sent: "
          f"{'OK' if ok_rows else 'MISMATCH'}")  # fmt: skip


if __name__ == "__main__":
    main()
