"""「今すぐ送信」 on a scheduled send: it goes at once, and only while it is still a
reservation (never after a cancel, never a second time, never besides the dispatcher)."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from hrmos.models import AuditEvent
from messaging.models import Delivery, Kind, Message, Send
from messaging.sending import compose, scheduling
from messaging.sending.compose import Draft

pytestmark = pytest.mark.django_db


def scheduled(company, recruiter, candidate) -> Send:
    draft = Draft(
        kind=Kind.CANDIDATE, subject="ご案内", body="{{姓}}様", scheduled_at=timezone.now() + timedelta(days=1)
    )
    return compose.create_send(draft, company=company, user=recruiter, candidates=[candidate.pk])


def test_send_now_sends_at_once_and_moves_the_timeline_item(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    send = scheduled(company, recruiter, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduling.send_scheduled_now(send, user=recruiter)
    send.refresh_from_db()
    assert send.status == Send.Status.DONE and send.scheduled_at <= timezone.now()
    assert list(Delivery.objects.filter(send=send).values_list("status", flat=True)) == ["sent"]
    assert len(mail.outbox) == 1 and Message.objects.get(send=send).occurred_at <= timezone.now()
    assert AuditEvent.objects.filter(action="messaging.send_now").count() == 1


def test_send_now_is_refused_after_a_cancel_or_a_second_time(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    cancelled = scheduled(company, recruiter, candidate)
    scheduling.cancel_scheduled_send(cancelled, user=recruiter)
    assert not scheduling.send_scheduled_now(cancelled, user=recruiter)
    sent = scheduled(company, recruiter, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduling.send_scheduled_now(sent, user=recruiter)
        assert not scheduling.send_scheduled_now(sent, user=recruiter)
    with time_machine.travel(timezone.now() + timedelta(days=2)), django_capture_on_commit_callbacks(execute=True):
        assert scheduling.dispatch_due() == []
    assert len(mail.outbox) == 1


def test_the_send_page_offers_send_now_for_a_reservation(recruiter_client, company, recruiter, candidate):
    send = scheduled(company, recruiter, candidate)
    url = reverse("messaging:send_now", args=[send.pk])
    assert f'action="{url}"' in recruiter_client.get(reverse("messaging:send_detail", args=[send.pk])).content.decode()
    text = recruiter_client.post(url, follow=True).content.decode()
    assert "送信予約を今すぐ送信しました。" in text and f'action="{url}"' not in text
    text = recruiter_client.post(url, follow=True).content.decode()
    assert "今すぐ送信できませんでした。すでに送信が始まっているか、キャンセルされています。" in text
