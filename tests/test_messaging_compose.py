"""Creating sends: the rows the pipeline writes, the LINE rules it enforces, email delivery,
and bad input. LINE pushes themselves are tested against the emulator elsewhere; here no
LINE delivery is ever left queued for a worker (the rules skip them, or workers don't run)."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from candidates.models import Agent, Candidate
from line_integration.models import LineAccount, LineIntegration
from messaging import rules
from messaging.models import AUTOMATIC_KINDS, MANUAL_KINDS, Channel, Delivery, Kind, Message, RecipientKind, Send
from messaging.sending import compose
from messaging.sending.compose import ComposeError, Draft
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


def linked(company) -> LineIntegration:
    return LineIntegration.objects.create(
        company=company,
        status=LineIntegration.Status.LINKED,
        messaging_channel_id="1111111111",
        messaging_channel_secret="0123456789abcdef0123456789abcdef",
        login_channel_id="2222222222",
        login_channel_secret="fedcba9876543210fedcba9876543210",
        bot_user_id="U" + "a" * 32,
        linked_at=timezone.now(),
    )


def befriend(candidate: Candidate, n: int, state=LineAccount.FriendState.FRIEND) -> LineAccount:
    return LineAccount.objects.create(
        company=candidate.company, candidate=candidate, line_user_id=f"U{n:032x}", friend_state=state
    )


def draft(**fields) -> Draft:
    values: dict[str, Any] = {
        "kind": Kind.BULK,
        "subject": "説明会のご案内",
        "body": "{{候補者氏名}}様\n\n{{企業名}}の{{送信者名}}です。",
    }
    values.update(fields)
    return Draft(**values)


def send(company, recruiter, candidates, **fields) -> Send:
    return compose.create_send(draft(**fields), company=company, user=recruiter, candidates=[c.pk for c in candidates])


def test_one_message_per_candidate_and_one_delivery_per_channel(company, recruiter, django_capture_on_commit_callbacks):
    a = make_candidate(company, email="a@example.com", last_name="青木", first_name="一郎")
    b = make_candidate(company, email="b@example.com", last_name="伊藤", first_name="二郎")
    with django_capture_on_commit_callbacks(execute=False):
        result = send(company, recruiter, [a, b])
    assert result.status == Send.Status.QUEUED
    assert result.recipient_count == 2
    assert Message.objects.filter(send=result).count() == 2
    assert set(Delivery.objects.filter(send=result).values_list("channel", "status")) == {("email", "queued")}
    timeline_copy = Message.objects.get(send=result, candidate=a)
    assert timeline_copy.body.startswith("青木 一郎様")
    assert "株式会社テスト" in timeline_copy.body and "採用 太郎" in timeline_copy.body


def test_workers_are_enqueued_only_after_commit(company, recruiter, candidate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send(company, recruiter, [candidate])
        assert not mail.outbox
    assert callbacks  # the drain task is published on commit, not before
    assert not mail.outbox


def test_each_recipient_gets_their_own_email(company, recruiter, django_capture_on_commit_callbacks):
    a = make_candidate(company, email="a@example.com", last_name="青木", first_name="一郎")
    b = make_candidate(company, email="b@example.com", last_name="伊藤", first_name="二郎")
    with django_capture_on_commit_callbacks(execute=True):
        result = send(company, recruiter, [a, b])
    assert sorted(m.recipients()[0].split("<")[-1].rstrip(">") for m in mail.outbox) == [
        "a@example.com",
        "b@example.com",
    ]
    by_address = {m.recipients()[0].split("<")[-1].rstrip(">"): m for m in mail.outbox}
    assert by_address["a@example.com"].body.startswith("青木 一郎様")
    assert by_address["b@example.com"].body.startswith("伊藤 二郎様")
    assert by_address["a@example.com"].subject == "説明会のご案内"
    deliveries = Delivery.objects.filter(send=result)
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    assert all(d.attempts == 1 and d.sent_at for d in deliveries)
    message_ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert message_ids == {f"<{d.id}@localhost>" for d in deliveries}
    result.refresh_from_db()
    assert result.status == Send.Status.DONE


def test_a_candidate_without_email_is_skipped_with_the_reason(company, recruiter, django_capture_on_commit_callbacks):
    nomail = make_candidate(company, email="")
    with django_capture_on_commit_callbacks(execute=True):
        result = send(company, recruiter, [nomail])
    delivery = Delivery.objects.get(send=result)
    assert (delivery.status, delivery.reason) == ("skipped", rules.REASON_NO_EMAIL)
    assert not mail.outbox


def test_agent_recipients_get_email_at_the_agents_address_and_never_line(
    company, recruiter, django_capture_on_commit_callbacks
):
    linked(company)
    agent = Agent.objects.create(
        company=company, agency_name="エージェント社", contact_name="佐藤", contact_email="sato@agent.example"
    )
    student = make_candidate(company, email="s@example.com", agent=agent)
    befriend(student, 1)
    with django_capture_on_commit_callbacks(execute=True):
        result = send(company, recruiter, [student], send_line=True, recipient_type=RecipientKind.AGENT)
    email = Delivery.objects.get(send=result, channel=Channel.EMAIL)
    line = Delivery.objects.get(send=result, channel=Channel.LINE)
    assert (email.status, email.address) == ("sent", "sato@agent.example")
    assert (line.status, line.reason) == ("skipped", rules.REASON_AGENT)
    assert mail.outbox[0].to == ['"エージェント社 佐藤" <sato@agent.example>']


def test_line_rows_that_cannot_go_are_created_skipped_with_reasons(
    company, recruiter, django_capture_on_commit_callbacks
):
    linked(company)
    stranger = make_candidate(company, email="n@example.com")
    blocked = make_candidate(company, email="b@example.com")
    befriend(blocked, 2, state=LineAccount.FriendState.BLOCKED)
    half = make_candidate(company, email="h@example.com")
    befriend(half, 3, state=LineAccount.FriendState.NOT_FRIEND)
    with django_capture_on_commit_callbacks(execute=False):
        result = send(company, recruiter, [stranger, blocked, half], send_line=True)
    reasons = {d.candidate_id: (d.status, d.reason) for d in Delivery.objects.filter(send=result, channel=Channel.LINE)}
    assert reasons == {
        stranger.pk: ("skipped", rules.REASON_NOT_FRIEND),
        blocked.pk: ("skipped", rules.REASON_BLOCKED),
        half.pk: ("skipped", rules.REASON_NOT_FRIEND),
    }


def test_no_line_when_the_company_is_not_linked(company, recruiter, candidate, django_capture_on_commit_callbacks):
    befriend(candidate, 4)
    with django_capture_on_commit_callbacks(execute=False):
        result = send(company, recruiter, [candidate], send_line=True)
    line = Delivery.objects.get(send=result, channel=Channel.LINE)
    assert (line.status, line.reason) == ("skipped", rules.REASON_UNLINKED)


@pytest.mark.parametrize("kind", sorted(AUTOMATIC_KINDS))
def test_automatic_kinds_never_produce_a_line_delivery(
    kind, company, recruiter, candidate, django_capture_on_commit_callbacks
):
    linked(company)
    befriend(candidate, 5)
    with django_capture_on_commit_callbacks(execute=True):
        result = send(company, recruiter, [candidate], kind=kind, send_line=True)
    assert not result.send_line
    assert list(Delivery.objects.filter(send=result).values_list("channel", flat=True)) == ["email"]
    assert len(mail.outbox) == 1


def test_the_database_refuses_line_for_an_automatic_kind(company):
    with pytest.raises(IntegrityError):
        Send.objects.create(company=company, kind=Kind.SELECTION_RESULT, body="x", send_line=True)


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"subject": "  "}, "subject", "件名を入力してください。"),
        ({"body": ""}, "body", "本文を入力してください。"),
        ({"body": "{{氏名}}様"}, "body", "使用できない差し込み項目があります：{{氏名}}"),
        ({"body": "{{LINE友達登録URL}}"}, "body", "「あり」にしたときだけ使えます"),
        ({"body": "あ" * 25_000, "send_line": True}, "body", "LINEで送信できるのは25,000文字"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(fields, field, text, company, recruiter, candidate):
    with pytest.raises(ComposeError) as caught:
        send(company, recruiter, [candidate], **fields)
    assert any(text in message for message in caught.value.errors[field])
    assert not Send.objects.exists()


def test_no_recipients_is_refused(company, recruiter):
    with pytest.raises(ComposeError) as caught:
        compose.create_send(draft(), company=company, user=recruiter, candidates=[])
    assert "宛先の候補者が選択されていません" in caught.value.errors[""][0]


def test_another_companys_candidates_are_not_recipients(company, other_company, recruiter):
    outsider = make_candidate(other_company, email="x@example.com")
    with pytest.raises(ComposeError):
        compose.create_send(draft(), company=company, user=recruiter, candidates=[outsider.pk])


def test_a_schedule_time_in_the_past_is_refused(company, recruiter, candidate):
    with pytest.raises(ComposeError) as caught:
        send(company, recruiter, [candidate], scheduled_at=timezone.now() - timedelta(minutes=1))
    assert caught.value.errors["scheduled_at"] == ["送信日時には現在より後の日時を指定してください。"]


def test_friend_invitation_needs_a_linked_company_and_a_bulk_send(company, recruiter, candidate):
    with pytest.raises(ComposeError) as caught:
        send(company, recruiter, [candidate], include_friend_invitation=True)
    assert "連携中" in caught.value.errors["include_friend_invitation"][0]
    linked(company)
    with pytest.raises(ComposeError) as caught:
        send(company, recruiter, [candidate], kind=Kind.CANDIDATE, include_friend_invitation=True)
    assert "一括送信でのみ" in caught.value.errors["include_friend_invitation"][0]


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"kind": Kind.INTERVIEW_REMINDER, "send_line": True}, "この種類のメッセージはLINEでは送信できません"),
        ({"send_line": False}, "メールもLINEも送信しない設定になっています"),
    ],
)
def test_a_send_with_no_channel_left_is_refused(fields, text, company, recruiter, candidate):
    with pytest.raises(ComposeError) as caught:
        send(company, recruiter, [candidate], send_email=False, **fields)
    assert any(text in message for message in caught.value.errors[""])
    assert not Send.objects.exists()


def test_the_friend_invitation_resend_is_its_own_kind_and_may_carry_the_url(
    recruiter_client, company, candidate, django_capture_on_commit_callbacks
):
    linked(company)
    with django_capture_on_commit_callbacks(execute=True):
        recruiter_client.post(reverse("messaging:friend_invitation_resend", args=[candidate.pk]))
    result = Send.objects.get()
    assert (result.kind, result.include_friend_invitation) == (Kind.FRIEND_INVITATION, True)
    assert result.get_kind_display() == "LINE友達登録のご案内"
    assert Kind.FRIEND_INVITATION in MANUAL_KINDS
    assert "/line/friend/" in mail.outbox[0].body
    assert "LINE友達登録のご案内" in recruiter_client.get(reverse("messaging:send_list")).content.decode()


def test_rows_get_the_model_defaults_for_every_column_they_do_not_name(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        result = send(company, recruiter, [candidate])
    delivery = Delivery.objects.get(send=result)
    assert (delivery.attempts, delivery.throttled, delivery.line_message_ids, delivery.line_texts) == (0, 0, [], None)
    message = Message.objects.get(send=result)
    assert (message.content_type, message.extra, message.line_message_id) == ("text", {}, None)


def test_rows_for_a_not_null_column_without_a_default_must_name_it():
    from messaging import bulk

    with pytest.raises(ValueError, match=r"Delivery\.created_at is NOT NULL without a default"):
        bulk.Rows(Delivery, fixed={"company": 1, "send": 1}, per_row=("id",))
    with pytest.raises(ValueError, match="Delivery has no field colour"):
        bulk.Rows(Delivery, fixed={"colour": "red"}, per_row=())


def test_attachments_go_with_the_email(company, recruiter, candidate, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("会社案内.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        send(company, recruiter, [candidate], attachments=[upload])
    assert mail.outbox[0].attachments[0][0] == "会社案内.pdf"
    assert mail.outbox[0].attachments[0][1] == b"%PDF-1.4 test"


def test_a_smtp_failure_is_retried_then_failed_with_the_reason(
    company, recruiter, candidate, settings, django_capture_on_commit_callbacks, monkeypatch
):
    import smtplib

    from django.core.mail.backends.locmem import EmailBackend

    from messaging.outbox import drain as draining
    from messaging.outbox import rows, tasks

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    monkeypatch.setattr(draining, "SHORT_WAIT", 0)  # don't sleep through backoff in the test
    with django_capture_on_commit_callbacks(execute=True):
        result = send(company, recruiter, [candidate])
    delivery = Delivery.objects.get(send=result)
    assert delivery.status == "queued" and delivery.attempts == 1
    assert "Connection unexpectedly closed" in delivery.reason
    assert delivery.next_attempt_at > timezone.now()
    # The sweeper (or the drain's own re-enqueue) retries until MAX_ATTEMPTS, then fails it.
    Delivery.objects.filter(pk=delivery.pk).update(attempts=rows.MAX_ATTEMPTS - 1, next_attempt_at=None)
    tasks.drain(result.pk, Channel.EMAIL)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert f"（{rows.MAX_ATTEMPTS}回試行しました）" in delivery.reason


def test_a_permanent_smtp_refusal_fails_at_once(
    company, recruiter, candidate, django_capture_on_commit_callbacks, monkeypatch
):
    import smtplib

    from django.core.mail.backends.locmem import EmailBackend

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({candidate.email: (550, b"No such user")})

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        result = send(company, recruiter, [candidate])
    delivery = Delivery.objects.get(send=result)
    assert delivery.status == "failed" and delivery.attempts == 1
