"""Submitting a compose form when things go wrong: the broker is down at that moment, or the
same form arrives twice (a double click, a browser re-POST, a proxy retry)."""

import socket
import threading
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from hrmos.celery import app as celery_app
from messaging.models import Delivery, Kind, Send
from messaging.outbox import rows, tasks
from messaging.sending import compose
from messaging.sending.compose import Draft
from tests.conftest import not_live
from tests.test_messaging_views import compose_post

pytestmark = pytest.mark.django_db


def _reset_publisher_pools() -> None:
    # Private state that celery-types does not declare.
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def broker_down(monkeypatch):
    """Tasks are published for real (not run inline) to a broker port nobody listens on."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = f"redis://127.0.0.1:{closed_port}/0"
    monkeypatch.setenv("CELERY_BROKER_URL", unreachable)  # Celery reads it before its own setting
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    conf.task_always_eager = False
    conf.update(broker_url=unreachable, broker_transport_options={})
    _reset_publisher_pools()
    yield
    conf.update(broker_url=saved[0], broker_transport_options=saved[1])
    conf.task_always_eager = True
    _reset_publisher_pools()


def published_nothing(caplog) -> int:
    return sum(r.getMessage().startswith("could not publish the drain") for r in caplog.records)


def test_with_the_broker_down_the_send_is_saved_and_the_sweeper_delivers_it_once(
    recruiter_client, candidate, broker_down, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        response = recruiter_client.post(reverse("messaging:compose_bulk"), compose_post(ids=[candidate.pk]))
    assert published_nothing(caplog) == 1
    send = Send.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("messaging:send_detail", args=[send.pk])
    page = recruiter_client.get(response["Location"])
    assert page.status_code == 200 and "1名への送信を開始しました。" in page.content.decode()
    assert list(Delivery.objects.filter(send=send).values_list("status", flat=True)) == ["queued"]
    assert not mail.outbox

    celery_app.conf.task_always_eager = True  # the broker is back: what beat runs every 30 s
    later = timezone.now() + rows.stale_queued_after() + timedelta(seconds=1)
    with time_machine.travel(later, tick=True):
        assert tasks.sweep()["woken"] == 1
    with time_machine.travel(later + timedelta(seconds=30), tick=True):
        tasks.sweep()
    assert len(mail.outbox) == 1
    assert list(Delivery.objects.filter(send=send).values_list("status", flat=True)) == ["sent"]


def test_a_failed_publish_does_not_skip_the_other_sends_wake_ups(
    company, recruiter, candidate, broker_down, django_capture_on_commit_callbacks, caplog
):
    from messaging.sending import scheduling

    soon = timezone.now() + timedelta(minutes=5)
    sends = [
        compose.create_send(
            Draft(kind=Kind.BULK, subject=f"予約{n}", body="本文", scheduled_at=soon),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
        for n in range(2)
    ]
    with (
        time_machine.travel(soon + timedelta(seconds=1), tick=True),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        assert sorted(scheduling.dispatch_due()) == sorted(s.pk for s in sends)
    assert len(not_live(callbacks)) == 4  # a wake-up and a completion check per send, none raised
    assert published_nothing(caplog) == 2  # both sends' publishes were tried; the sweeper will wake them
    assert set(Send.objects.values_list("status", flat=True)) == {Send.Status.QUEUED}


def test_posting_the_same_compose_form_twice_makes_one_send(
    recruiter_client, candidate, django_capture_on_commit_callbacks
):
    form = recruiter_client.get(reverse("messaging:compose", args=[candidate.pk])).content.decode()
    token = form.split('name="client_token" value="')[1].split('"')[0]
    assert uuid.UUID(token)
    data = compose_post(client_token=token)
    with django_capture_on_commit_callbacks(execute=True):
        first = recruiter_client.post(reverse("messaging:compose", args=[candidate.pk]), data)
        second = recruiter_client.post(reverse("messaging:compose", args=[candidate.pk]), data, follow=True)
    send = Send.objects.get()
    assert first["Location"] == reverse("messaging:send_detail", args=[send.pk])
    assert second.redirect_chain[-1][0] == first["Location"]
    assert "この送信はすでに受け付けています" in second.content.decode()
    assert len(mail.outbox) == 1


def test_posting_the_line_tab_form_twice_sends_one_line_message(
    recruiter_client, company, recruiter, candidate, django_capture_on_commit_callbacks
):
    from tests.test_messaging_compose import befriend, linked

    linked(company)
    befriend(candidate, 1)
    url = reverse("messaging:line_chat", args=[candidate.pk])
    data = {"body": "よろしくお願いします。", "timing": "now", "client_token": str(uuid.uuid4())}
    with django_capture_on_commit_callbacks(execute=False):
        assert recruiter_client.post(url, data).status_code == 302
        assert recruiter_client.post(url, data).status_code == 302
    assert Send.objects.count() == 1


def test_a_new_form_is_a_new_send(recruiter_client, candidate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            recruiter_client.post(
                reverse("messaging:compose", args=[candidate.pk]), compose_post(client_token=str(uuid.uuid4()))
            )
    assert Send.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_form_at_the_same_moment_make_one_send(company, recruiter, candidate, monkeypatch):
    """The second insert waits on the first's unique client_token, then finds its send."""
    monkeypatch.setattr(tasks, "wake_on_commit", lambda *args, **kwargs: None)
    token = uuid.uuid4()
    inserted, release = threading.Event(), threading.Event()

    def first_post() -> None:
        with transaction.atomic():
            compose.create_send(
                Draft(kind=Kind.CANDIDATE, subject="件名", body="本文", client_token=token),
                company=company,
                user=recruiter,
                candidates=[candidate.pk],
            )
            inserted.set()
            release.wait(10)
        connections.close_all()

    thread = threading.Thread(target=first_post)
    thread.start()
    assert inserted.wait(10)
    threading.Timer(0.5, release.set).start()  # commits while the second insert is waiting
    second = compose.create_send(
        Draft(kind=Kind.CANDIDATE, subject="件名", body="本文", client_token=token),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    thread.join()
    assert Send.objects.get().pk == second.pk
