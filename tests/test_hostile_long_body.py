"""A body longer than LINE can carry: email-only sends are not limited by LINE's size; with
LINE on it is a form error, never a 500."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import Message, Send
from tests.test_messaging_compose import linked
from tests.test_messaging_scheduling import edit_post, schedule
from tests.test_messaging_views import compose_post

pytestmark = pytest.mark.django_db

LONG_BODY = "\n".join(["ご案内です。"] * 4_000)  # 27,999 characters: more than LINE's 25,000


def test_an_email_only_send_of_a_long_body_goes_out(recruiter_client, candidate):
    response = recruiter_client.post(
        reverse("messaging:compose", args=[candidate.pk]), compose_post(body=LONG_BODY), follow=True
    )
    assert response.status_code == 200
    send = Send.objects.get()
    assert send.body == LONG_BODY
    assert Message.objects.get(send=send).body.startswith("ご案内です。")


def test_the_preview_of_a_long_body_shows_the_email_and_says_line_cannot_carry_it(recruiter_client, candidate):
    response = recruiter_client.post(
        reverse("messaging:compose_preview"), {"ids": [candidate.pk], "kind": "candidate", "body": LONG_BODY}
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "ご案内です。" in text
    assert "LINEで送信できるのは25,000文字（5,000文字×5通）までです。" in text


def test_with_line_on_a_long_body_is_a_form_error(recruiter_client, company, candidate):
    linked(company)
    response = recruiter_client.post(
        reverse("messaging:compose", args=[candidate.pk]), compose_post(body=LONG_BODY, send_line="on")
    )
    assert response.status_code == 200
    assert "LINEで送信できるのは25,000文字（5,000文字×5通）までです。" in response.content.decode()
    assert not Send.objects.exists()


def test_a_reservation_can_be_edited_to_a_long_body(recruiter_client, company, recruiter, candidate):
    result = schedule(company, recruiter, [candidate])
    response = recruiter_client.post(
        reverse("messaging:send_edit", args=[result.pk]), edit_post(result, body=LONG_BODY), follow=True
    )
    assert "送信予約を変更しました。" in response.content.decode()
    result.refresh_from_db()
    assert result.body == LONG_BODY and result.scheduled_at > timezone.now() + timedelta(days=1)
    assert recruiter_client.get(reverse("messaging:send_edit", args=[result.pk])).status_code == 200
