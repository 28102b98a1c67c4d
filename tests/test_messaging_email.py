"""The outgoing email itself: where a candidate's reply goes, headers that survive bad data,
one bad email never stalling its batch, and the rendered copy stored before it goes out."""

from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from messaging import rules
from messaging.models import Delivery, Kind, Send
from messaging.sending import compose
from messaging.sending.compose import Draft
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


def send_one(company, recruiter, candidate, capture) -> mail.EmailMessage:
    with capture(execute=True):
        compose.create_send(
            Draft(kind=Kind.CANDIDATE, subject="面接のご案内", body="本文"),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    [message] = mail.outbox
    return message


def test_replies_go_to_the_recruiter_when_inbound_email_is_off(
    settings, company, recruiter, candidate, django_capture_on_commit_callbacks
):
    settings.INBOUND_EMAIL_SECRET = ""
    recruiter.email = "saiyo@example.co.jp"
    recruiter.save()
    message = send_one(company, recruiter, candidate, django_capture_on_commit_callbacks)
    assert message.reply_to == ["saiyo@example.co.jp"]


def test_replies_go_to_the_company_inbound_address_so_they_reach_the_timeline(
    settings, company, recruiter, candidate, django_capture_on_commit_callbacks
):
    settings.INBOUND_EMAIL_SECRET = "inbound-secret"
    settings.INBOUND_EMAIL_DOMAIN = "in.example.jp"
    message = send_one(company, recruiter, candidate, django_capture_on_commit_callbacks)
    assert message.reply_to == [f"reply+{company.public_id}@in.example.jp"]


class ProbeBackend(BaseEmailBackend):
    """Django's locmem backend, plus: an address with "broken" in it raises like a bug would,
    and each email records what its delivery row held in the database when it went out."""

    def send_messages(self, messages):
        for message in messages:
            if any("broken" in address for address in message.recipients()):
                raise RuntimeError("something unexpected")
            message.message()  # Django's own header checks, as a real backend makes them
            delivery_id = message.extra_headers["Message-ID"].strip("<>").split("@")[0]
            message.row_at_send = Delivery.objects.values("address", "rendered_subject", "rendered_body").get(
                pk=delivery_id
            )
            mail.outbox.append(message)
        return len(messages)


@pytest.fixture
def probe_backend(settings):
    settings.EMAIL_BACKEND = "tests.test_messaging_email.ProbeBackend"


def send_to(company, recruiter, people, capture, **fields) -> Send:
    values: dict[str, Any] = {"kind": Kind.BULK, "subject": "{{姓}}様へのご案内", "body": "{{候補者氏名}}様\n本文"}
    values.update(fields)
    with capture(execute=True):
        return compose.create_send(Draft(**values), company=company, user=recruiter, candidates=[p.pk for p in people])


def test_a_line_break_in_a_name_becomes_a_space_in_the_headers(company, recruiter, django_capture_on_commit_callbacks):
    imported = make_candidate(company, last_name="山田\r\nBcc: someone@example.com", email="y@example.com")
    send = send_to(company, recruiter, [imported], django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.recipients() == ['"山田 Bcc: someone@example.com 花子" <y@example.com>']
    assert message.subject == "山田 Bcc: someone@example.com様へのご案内"
    assert message.message()["Bcc"] is None  # no header smuggled in
    assert Delivery.objects.get(send=send).status == "sent"


def test_an_email_that_raises_fails_alone_with_a_readable_reason(
    company, recruiter, probe_backend, django_capture_on_commit_callbacks, caplog
):
    people = [make_candidate(company, email=f"{name}@example.com") for name in ("a", "broken", "c")]
    send = send_to(company, recruiter, people, django_capture_on_commit_callbacks)
    rows = {d.address: d for d in Delivery.objects.filter(send=send)}
    assert (rows["broken@example.com"].status, rows["broken@example.com"].reason) == ("failed", rules.REASON_UNEXPECTED)
    assert rows["a@example.com"].status == rows["c@example.com"].status == "sent"
    assert len(mail.outbox) == 2
    send.refresh_from_db()
    assert send.status == Send.Status.DONE  # the batch was not left in `sending`
    assert any(str(rows["broken@example.com"].id) in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_the_rendered_email_is_stored_before_it_goes_out(
    company, recruiter, candidate, probe_backend, django_capture_on_commit_callbacks
):
    send_to(company, recruiter, [candidate], django_capture_on_commit_callbacks)
    [message] = mail.outbox
    # A crash right after this email left would resend exactly this subject, body and address.
    assert getattr(message, "row_at_send", None) == {
        "address": "hanako@example.com",
        "rendered_subject": "山田様へのご案内",
        "rendered_body": "山田 花子様\n本文",
    }
    assert (message.subject, message.body) == ("山田様へのご案内", "山田 花子様\n本文")
