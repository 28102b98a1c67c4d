"""Private services for the crash experiments, each in its own process group under one
temporary directory: PostgreSQL (initdb, port 55432), Redis (port 56379), the LINE emulator,
the app's gunicorn, a Celery worker and beat. `Stack` is a context manager: whatever happens
(an assertion, Ctrl-C), everything it started is stopped and the directory removed. The
shared PostgreSQL and Redis of the machine are never touched.

Settings are production's defaults (DEBUG=0, leases, sweep intervals, LINE push pacing, the
broker's visibility timeout); only the addresses point at the private services.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PG_PORT = 55432
REDIS_PORT = 56379


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def _pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(f"{name} not found: install PostgreSQL's server binaries")


class Stack:
    def __init__(self, name: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=f"reliability-{name}-"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.pg_data = self.tmp / "pg"
        self.emulator_port = free_port()
        self.web_port = free_port()
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}"
        self.site_url = f"http://127.0.0.1:{self.web_port}"
        self._postgres_up = False
        from cryptography.fernet import Fernet

        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
        self.env.update(
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(40),
            FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SITE_URL=self.site_url,
            SECURE_SSL_REDIRECT="0",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{PG_PORT}/hrmos",
            REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}/0",
            CELERY_BROKER_URL=f"redis://127.0.0.1:{REDIS_PORT}/1",
            LINE_API_BASE=self.emulator_url,
            LINE_API_DATA_BASE=self.emulator_url,
            LINE_ACCESS_BASE=self.emulator_url,
            LINE_WEB_BASE=self.emulator_url,
            EMAIL_URL=f"file:///{self.tmp / 'mail'}",
            VAR_DIR=str(self.tmp / "var"),
            STATIC_ROOT=str(self.tmp / "static"),
            MEDIA_ROOT=str(self.tmp / "media"),
            LOG_LEVEL="WARNING",
        )
        (self.tmp / "mail").mkdir()

    # --- lifetime -------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name, grace=5)
        if self._postgres_up:
            self.stop_postgres(mode="immediate")
        if kind is not None:
            print(f"\nlogs kept for the failure: {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start(
        self, name: str, argv: list[str], *, ready: Callable[[], bool] | None = None, timeout: float = 60
    ) -> subprocess.Popen:
        log_path = self.logs.setdefault(name, self.tmp / f"{name}.log")
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        if ready is not None:

            def up() -> bool:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{log_path.read_text(errors='replace')[-3000:]}")
                return ready()

            wait_for(up, timeout, name)
        return process

    def kill(self, name: str) -> None:
        """SIGKILL the process group: the main process and its children, nothing cleans up."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, name: str, grace: float = 30) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def log_text(self, name: str) -> str:
        path = self.logs.get(name)
        return path.read_text(errors="replace") if path and path.exists() else ""

    # --- PostgreSQL -------------------------------------------------------------------------------

    def _as_postgres(self, argv: list[str]) -> list[str]:
        """initdb and postgres refuse to run as root: run them as the postgres user then."""
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            self._as_postgres([_pg_binary("pg_ctl"), "-D", str(self.pg_data), *args]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start_postgres(self) -> None:
        if not self.pg_data.exists():
            self.pg_data.mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.tmp, "postgres")
                shutil.chown(self.pg_data, "postgres")
            subprocess.run(
                self._as_postgres([_pg_binary("initdb"), "-D", str(self.pg_data), "-U", "postgres", "-A", "trust"]),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        options = f"-p {PG_PORT} -k {self.pg_data} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._pg_ctl("-l", str(self.pg_data / "server.log"), "-o", options, "-w", "start")
        self._postgres_up = True

    def stop_postgres(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")
        self._postgres_up = False

    def create_database(self) -> None:
        import psycopg2

        admin = psycopg2.connect(dbname="postgres", user="postgres", host="127.0.0.1", port=PG_PORT)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("CREATE DATABASE hrmos")
        admin.close()

    # --- Redis ------------------------------------------------------------------------------------

    def start_redis(self) -> None:
        """No persistence: a restart loses every queued and unacknowledged task (the worst case)."""
        import redis

        argv = ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.tmp)]

        def answers() -> bool:
            try:
                return bool(redis.Redis(port=REDIS_PORT, socket_connect_timeout=0.5).ping())
            except redis.RedisError:
                return False

        self.start("redis", argv, ready=answers, timeout=20)

    # --- the app ----------------------------------------------------------------------------------

    def setup_django(self) -> None:
        """This process talks to the private database as the app does (and migrates it)."""
        os.environ.update(self.env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "hrmos.settings"
        sys.path.insert(0, str(REPO))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    def start_emulator(self) -> Any:
        import requests

        def healthy() -> bool:
            try:
                return requests.get(f"{self.emulator_url}/_emu/health", timeout=1).ok
            except requests.RequestException:
                return False

        argv = [sys.executable, "-m", "line_emulator", "--port", str(self.emulator_port)]
        self.start("emulator", [*argv, "--data", str(self.tmp / "emulator.sqlite3")], ready=healthy)
        from tests.line_emulator_fixtures import EmulatorClient

        return EmulatorClient(self.emulator_url)

    def start_worker(self, name: str = "worker") -> None:
        argv = [sys.executable, "-m", "celery", "-A", "hrmos", "worker", "-c", "2", "--loglevel", "INFO"]
        argv += ["-n", f"{name}-{secrets.token_hex(3)}@%h"]
        log = self.logs.setdefault(name, self.tmp / f"{name}.log")
        start = log.stat().st_size if log.exists() else 0
        self.start(name, argv, ready=lambda: b" ready." in log.read_bytes()[start:], timeout=90)

    def start_beat(self) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "hrmos", "beat", "--loglevel", "INFO"]
        self.start("beat", [*argv, "-s", str(self.tmp / "beat-schedule")])

    def start_web(self) -> None:
        import requests

        def answers() -> bool:
            try:
                return requests.get(f"{self.site_url}/login/", timeout=1).status_code < 500
            except requests.RequestException:
                return False

        argv = [sys.executable, "-m", "gunicorn", "hrmos.wsgi", "-b", f"127.0.0.1:{self.web_port}", "-w", "2"]
        self.start("web", [*argv, "-k", "gthread", "--threads", "8"], ready=answers)


# --- a world to send to ---------------------------------------------------------------------------


def linked_company(emulator: Any, friends: int, *, webhook: bool = False) -> tuple[Any, Any, str, list[str]]:
    """A company linked to an emulated LINE channel, with `friends` candidates who follow it and
    are linked (as friend registration leaves them). Returns (company, recruiter, channel id,
    the personas' ids, in candidate order)."""
    from concurrent.futures import ThreadPoolExecutor

    from candidates.models import Candidate, Stage
    from hrmos.models import Company, User
    from line_integration.linking import actions
    from line_integration.models import LineAccount, webhook_url

    pair = emulator.create_linked_pair(callback_url="http://127.0.0.1/line/callback/x/")
    channel = pair.messaging_channel_id
    company = Company.objects.create(name="株式会社リカバリー")
    recruiter = User.objects.create_user(username="recovery", company=company, last_name="採用", first_name="太郎")
    credentials = actions.ChannelCredentials(
        messaging_channel_id=channel,
        messaging_channel_secret=pair.messaging_channel_secret,
        login_channel_id=pair.login_channel_id,
        login_channel_secret=pair.login_channel_secret,
    )
    actions.link(company, recruiter, credentials)

    def persona(n: int) -> tuple[str, str]:
        persona_id = emulator.create_persona(f"候補者{n}", persona_id=f"recovery{n:05d}")
        emulator.follow(channel, persona_id)
        return persona_id, emulator.user_id(channel, persona_id)

    with ThreadPoolExecutor(8) as pool:
        people = list(pool.map(persona, range(friends)))
    stage = Stage.objects.filter(company=company).order_by("position").first()
    rows = [
        Candidate(company=company, last_name=f"候補{n}", first_name="花子", email=f"c{n}@example.com", stage=stage)
        for n in range(friends)
    ]
    for row in rows:
        row.prepare_for_save()
    Candidate.objects.bulk_create(rows)
    candidates = list(Candidate.objects.filter(company=company).order_by("pk"))
    LineAccount.objects.bulk_create(
        [
            LineAccount(company=company, candidate=c, line_user_id=user_id, friend_state=LineAccount.FriendState.FRIEND)
            for c, (_, user_id) in zip(candidates, people, strict=True)
        ]
    )
    if webhook:
        emulator.set_channel(channel, webhook_url=webhook_url(company), webhook_active=True, redelivery_enabled=True)
    return company, recruiter, channel, [persona_id for persona_id, _ in people]
