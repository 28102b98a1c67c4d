"""The pipeline with a real Celery worker subprocess on Redis + PostgreSQL, against the emulator:
a mixed bulk send lands the right rows and outbox entries, and a worker killed with SIGKILL in
the middle of a 500-recipient send loses nothing and duplicates nothing after a restart."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from hrmos.celery import app as celery_app
from line_integration.models import LineAccount
from messaging import rules
from messaging.models import Channel, Delivery, Send
from messaging.outbox import rows, tasks
from tests.conftest import make_candidate
from tests.test_messaging_line import bulk, friend, outbox_by_key

REPO_DIR = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class Worker:
    """`celery -A hrmos worker` in its own process group, pointed at the test database."""

    def __init__(self, tmp_path: Path, emulator_url: str, **env: str) -> None:
        self.tmp_path = tmp_path
        self.emulator_url = emulator_url
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"

    def environment(self) -> dict[str, str]:
        db = connection.settings_dict
        database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
        (self.tmp_path / "mail").mkdir(exist_ok=True)
        return {
            **base,
            "DATABASE_URL": database_url,
            "VAR_DIR": str(self.tmp_path / "var"),
            "EMAIL_URL": f"file:///{self.tmp_path / 'mail'}",
            "LINE_API_BASE": self.emulator_url,
            "LINE_API_DATA_BASE": self.emulator_url,
            "LINE_ACCESS_BASE": self.emulator_url,
            "MESSAGING_LEASE_SECONDS": "5",
            "MESSAGING_STALE_QUEUED_SECONDS": "5",
            **self.env,
        }

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hrmos", "worker", "-c", "2", "-P", "prefork", "--loglevel", "INFO",
             "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO_DIR, env=self.environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while b" ready." not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the main process and its pool children at once: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def worker_factory(tmp_path, line_emulator_server):
    celery_app.conf.task_always_eager = False  # publish to Redis; the worker subprocess runs tasks
    celery_app.control.purge()
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(tmp_path, line_emulator_server, **env)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    celery_app.control.purge()


def wait_until_done(send: Send, timeout: float = 120, sweep: bool = False) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sweep:
            tasks.sweep()  # what beat runs every 30 s
        send.refresh_from_db()
        if send.status == Send.Status.DONE:
            return
        time.sleep(1)
    statuses = Counter(Delivery.objects.filter(send=send).values_list("channel", "status"))
    raise AssertionError(f"send {send.pk} not done after {timeout}s: {statuses}")


def test_mixed_bulk_send_of_50_through_a_real_worker(
    worker_factory, linked_company, recruiter, line_emulator, line_pair
):
    worker_factory()
    friends = [friend(line_emulator, line_pair, linked_company, n) for n in range(25)]
    strangers = [friend(line_emulator, line_pair, linked_company, n, state="stranger") for n in range(25, 40)]
    blocked = [friend(line_emulator, line_pair, linked_company, n, state="blocked") for n in range(40, 50)]
    send = bulk(linked_company, recruiter, friends + strangers + blocked)
    wait_until_done(send, timeout=60)
    line = {d.candidate_id: d for d in Delivery.objects.filter(send=send, channel=Channel.LINE)}
    assert {line[c.pk].status for c in friends} == {"sent"}
    assert {line[c.pk].reason for c in strangers} == {rules.REASON_NOT_FRIEND}
    assert {line[c.pk].reason for c in blocked} == {rules.REASON_BLOCKED}
    assert Delivery.objects.filter(send=send, channel=Channel.EMAIL, status="sent").count() == 50
    entries = outbox_by_key(line_emulator, line_pair)
    assert set(entries) == {str(line[c.pk].id) for c in friends}
    assert all(len(rows) == 1 for rows in entries.values())


def test_sigkill_mid_send_loses_nothing_and_duplicates_nothing(
    worker_factory, linked_company, recruiter, line_emulator, line_pair, tmp_path
):
    total = 500
    channel_id = line_pair.messaging_channel_id
    people = []
    for n in range(total):
        candidate = make_candidate(linked_company, email=f"k{n}@example.com", last_name=f"候補{n}")
        persona = line_emulator.create_persona(f"候補{n}")
        LineAccount.objects.create(
            company=linked_company,
            candidate=candidate,
            line_user_id=line_emulator.user_id(channel_id, persona),
            friend_state=LineAccount.FriendState.FRIEND,
        )
        people.append(candidate)
    # Paced at 60 pushes/s so the send is still running when the worker dies.
    worker = worker_factory(LINE_PUSH_RATE_PER_SECOND="60", LINE_PUSH_BURST="20")
    send = bulk(linked_company, recruiter, people)

    deadline = time.monotonic() + 60
    while Delivery.objects.filter(send=send, channel=Channel.LINE, status="sent").count() < 100:
        assert time.monotonic() < deadline, "the send did not start"
        time.sleep(0.1)
    worker.kill()
    at_kill = Counter(Delivery.objects.filter(send=send, channel=Channel.LINE).values_list("status", flat=True))
    assert at_kill["sent"] < total and at_kill["sending"] > 0  # killed mid-send, with pushes in flight

    worker_factory(LINE_PUSH_RATE_PER_SECOND="500")  # the restart
    wait_until_done(send, timeout=180, sweep=True)

    line = list(Delivery.objects.filter(send=send, channel=Channel.LINE))
    assert len(line) == total and {d.status for d in line} == {"sent"}  # zero lost
    entries = outbox_by_key(line_emulator, line_pair)
    assert set(entries) == {str(d.id) for d in line}
    duplicates = {key: len(rows) for key, rows in entries.items() if len(rows) > 1}
    assert duplicates == {}  # zero duplicates per retry key
    assert Delivery.objects.filter(send=send, channel=Channel.EMAIL, status="sent").count() == total
    # Email is at-least-once: only an email in flight at the kill may have gone twice.
    message_ids = Counter(
        line.split(":", 1)[1].strip()
        for path in (tmp_path / "mail").glob("*.log")
        for line in path.read_text(errors="replace").splitlines()
        if line.startswith("Message-ID:")
    )
    assert len(message_ids) == total
    assert sum(n - 1 for n in message_ids.values()) <= rows.BATCH[Channel.EMAIL]
