"""The production path, not the eager one: the emulator posts signed webhooks to the running
app, the webhook's coalesced wake-up publishes to Redis, and a real Celery worker subprocess
processes the events (content downloaded from the emulator)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection

from hrmos.celery import app as celery_app
from line_integration.models import LineWebhookEvent, webhook_url
from line_integration.processing import tasks
from messaging.models import Message, MessageAttachment

REPO_DIR = Path(__file__).resolve().parent.parent
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path, line_emulator_server):
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        VAR_DIR=str(tmp_path / "var"),
        LINE_API_BASE=line_emulator_server,
        LINE_API_DATA_BASE=line_emulator_server,
        LINE_ACCESS_BASE=line_emulator_server,
    )
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as log:
        command = [sys.executable, "-m", "celery", "-A", "hrmos", "worker", "-c", "2", "--loglevel", "INFO"]
        command += ["-n", f"receiving-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle"]
        command += ["--without-heartbeat"]
        process = subprocess.Popen(
            command, cwd=REPO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log_path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield log_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        celery_app.control.purge()


def wait_for(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_replies_are_processed_by_a_real_worker_woken_through_redis(
    worker, live_server, settings, line_emulator, line_pair, linked_company, line_friend_candidate
):
    settings.SITE_URL = live_server.url
    channel = line_pair.messaging_channel_id
    line_emulator.set_channel(channel, webhook_url=webhook_url(linked_company), webhook_active=True)
    queue = celery_app.conf.task_default_queue
    published_before = tasks.wake.published

    line_emulator.send_text(channel, line_pair.persona_id, "ワーカー経由で届きます")
    line_emulator.send_file(channel, line_pair.persona_id, PDF, file_name="成績証明書.pdf")
    assert line_emulator.wait_for_webhooks(timeout=10)
    assert {a["status_code"] for a in line_emulator.webhook_log(channel)} == {200}

    assert wait_for(lambda: MessageAttachment.objects.filter(name="成績証明書.pdf").exists()), worker.read_text()
    assert Message.objects.filter(candidate=line_friend_candidate, body="ワーカー経由で届きます").count() == 1
    # The file is stored a moment before its event is marked processed (a separate commit).
    assert wait_for(lambda: set(LineWebhookEvent.objects.values_list("outcome", flat=True)) == {"processed"}, 10)
    assert 1 <= tasks.wake.published - published_before <= 2  # one wake-up per commit burst, not per event
    with celery_app.connection_for_write() as broker:
        assert wait_for(lambda: redis.Redis.from_url(broker.as_uri(include_password=True)).llen(queue) == 0, 10)
