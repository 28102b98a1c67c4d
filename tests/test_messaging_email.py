"""The outgoing email itself: where a candidate's reply goes."""

import pytest
from django.core import mail

from messaging import compose
from messaging.compose import Draft
from messaging.models import Kind

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
