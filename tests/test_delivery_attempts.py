"""Every try of a delivery is kept: when, on which channel, LINE's HTTP status and request id
or the mail server's reply, the error, how long it took. The send page shows them; they are
purged after the retention period."""

import socketserver
import threading
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from line_integration.models import LineAccount
from messaging.models import Channel, Delivery, DeliveryAttempt
from messaging.outbox import email, rows, tasks
from tests.test_crash_recovery import email_send
from tests.test_messaging_line import PUSH, bulk

pytestmark = pytest.mark.django_db


def attempts_of(delivery: Delivery) -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.filter(delivery=delivery))


# --- LINE ---------------------------------------------------------------------------------------


def test_a_push_accepted_then_500_leaves_two_attempts_with_lines_status_and_request_ids(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    line_emulator.fault(PUSH, "accept-then-500")
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [line_friend_candidate])
    delivery = Delivery.objects.get(send=send, channel=Channel.LINE)
    first, second = attempts_of(delivery)
    assert (first.channel, first.outcome, first.http_status) == ("line", "retry", 500)
    assert first.line_request_id and first.error
    assert (second.outcome, second.http_status) == ("sent", 409)  # the retry key was accepted before
    assert second.line_request_id and second.line_request_id != first.line_request_id
    assert first.started_at <= second.started_at and first.duration_ms is not None
    assert first.company_id == linked_company.pk


def test_a_refused_push_keeps_lines_own_message(
    linked_company, recruiter, candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    LineAccount.objects.create(
        company=linked_company, candidate=candidate, line_user_id="U" + "e" * 32, friend_state="friend"
    )
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [candidate])
    [attempt] = attempts_of(Delivery.objects.get(send=send, channel=Channel.LINE))
    assert (attempt.outcome, attempt.http_status) == ("failed", 400)
    assert "Failed to send messages" in attempt.error


def test_a_skipped_delivery_has_no_attempt(
    linked_company, recruiter, candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [candidate])  # not a LINE friend: nothing goes out
    assert Delivery.objects.get(send=send, channel=Channel.LINE).status == "skipped"
    assert not DeliveryAttempt.objects.filter(channel="line").exists()


# --- email, through a real SMTP conversation ------------------------------------------------------


class SMTPSink(socketserver.StreamRequestHandler):
    """Just enough SMTP: accepts every message, or refuses recipients at `refuse@`."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        while line := self.rfile.readline().decode(errors="replace").strip():
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "RCPT" and "refuse@" in line:
                self.reply("550 5.1.1 <refuse@example.com>: Recipient address rejected: User unknown")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                while self.rfile.readline() not in (b".\r\n", b".\n", b""):
                    pass
                self.reply("250 2.0.0 Ok: queued as 4XyZ12")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("250 2.0.0 Ok")


@pytest.fixture
def smtp_server(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPSink)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    host, port = server.server_address[:2]
    settings.EMAIL_HOST, settings.EMAIL_PORT = str(host), int(port)
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.shutdown()
    server.server_close()


def test_an_email_attempt_keeps_the_mail_servers_reply(
    company, recruiter, django_capture_on_commit_callbacks, smtp_server
):
    send = email_send(company, recruiter, 1, django_capture_on_commit_callbacks)
    tasks.drain(send.pk, Channel.EMAIL)
    [accepted] = attempts_of(Delivery.objects.get(send=send))
    assert (accepted.channel, accepted.outcome) == ("email", "sent")
    assert accepted.smtp_response == "250 2.0.0 Ok: queued as 4XyZ12"
    assert accepted.http_status is None and not accepted.line_request_id


def test_a_refused_email_keeps_the_refusal(company, recruiter, django_capture_on_commit_callbacks, smtp_server):
    send = email_send(company, recruiter, 1, django_capture_on_commit_callbacks)
    Delivery.objects.filter(send=send).update(address="refuse@example.com")
    [claimed] = rows.claim(send.pk, Channel.EMAIL, 10)
    claimed.attempts = 2  # the stored address is used past the first attempt
    email.process([claimed])
    [refused] = attempts_of(claimed)
    assert refused.outcome == "failed"
    assert refused.smtp_response == "550 5.1.1 <refuse@example.com>: Recipient address rejected: User unknown"
    assert "SMTPRecipientsRefused" in refused.error


# --- a crash, the page, the retention ------------------------------------------------------------


def test_a_try_cut_short_by_a_crash_is_recorded_by_the_sweeper(company, recruiter, django_capture_on_commit_callbacks):
    send = email_send(company, recruiter, 1, django_capture_on_commit_callbacks)
    [claimed] = rows.claim(send.pk, Channel.EMAIL, 10)  # then SIGKILL
    with time_machine.travel(timezone.now() + rows.lease() + timedelta(seconds=1), tick=True):
        tasks.sweep()
    interrupted, sent = attempts_of(claimed)
    assert (interrupted.outcome, interrupted.error) == ("interrupted", rows.REASON_CRASHED)
    assert interrupted.started_at == claimed.sending_since
    assert sent.outcome == "sent"


def test_the_send_page_shows_each_attempt(
    linked_company,
    recruiter,
    line_friend_candidate,
    line_emulator,
    line_pair,
    django_capture_on_commit_callbacks,
    client,
):
    line_emulator.fault(PUSH, "accept-then-500")
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [line_friend_candidate])
    first, second = attempts_of(Delivery.objects.get(send=send, channel=Channel.LINE))
    client.force_login(recruiter)
    page = client.get(reverse("messaging:send_detail", args=[send.pk])).content.decode()
    assert "試行履歴（2回）" in page
    assert "HTTP 500" in page and "HTTP 409" in page
    assert first.line_request_id in page and second.line_request_id in page
    assert "試行履歴（1回）" in page  # the email's one attempt


def test_attempts_are_purged_after_the_retention_period(
    company, recruiter, django_capture_on_commit_callbacks, settings
):
    settings.DELIVERY_ATTEMPT_RETENTION_DAYS = 30
    send = email_send(company, recruiter, 1, django_capture_on_commit_callbacks)
    tasks.drain(send.pk, Channel.EMAIL)
    assert DeliveryAttempt.objects.count() == 1
    with time_machine.travel(timezone.now() + timedelta(days=29)):
        assert tasks.purge_old_attempts() == 0
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert tasks.purge_old_attempts() == 1
    assert Delivery.objects.filter(send=send, status="sent").count() == 1  # the delivery stays
