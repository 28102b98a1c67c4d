"""LINE delivery against the emulator (real HTTP through line-bot-sdk): the rows, the outbox
entries per retry key, faults, rate limits and the monthly quota. Workers run inline here;
tests/test_messaging_worker.py repeats the key cases with a real Celery worker."""

import dataclasses
import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from candidates.models import Agent
from line_integration.models import FriendInvitation, LineAccount
from messaging import rules
from messaging.models import Channel, Delivery, Kind, Message, RecipientKind, Send
from messaging.outbox import drain as draining
from messaging.outbox import line as outbox_line
from messaging.outbox import rows, tasks
from messaging.sending import compose
from messaging.sending.compose import Draft
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


PUSH = "POST /v2/bot/message/push"


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch):
    """Real backoff shapes, compressed: the first retry waits 0.1–0.2 s instead of 1–2 s, and a
    429 pauses our bucket for 0.1 s instead of 1 s."""
    monkeypatch.setattr(rows, "OUTBOX", dataclasses.replace(rows.OUTBOX, backoff_base=0.2))
    monkeypatch.setattr(draining, "SHORT_WAIT", 10.0)
    monkeypatch.setattr(outbox_line, "RATE_LIMITED_PAUSE_SECONDS", 0.1)


def friend(line_emulator, line_pair, company, n: int, *, state: str = "friend", **fields):
    """A candidate with a persona at the emulator: following, blocked, or never a friend."""
    candidate = make_candidate(company, email=f"c{n}@example.com", last_name=f"候補{n}", **fields)
    persona = line_emulator.create_persona(f"候補{n} 花子")
    if state in {"friend", "blocked"}:
        line_emulator.follow(line_pair.messaging_channel_id, persona)
    if state == "blocked":
        line_emulator.block(line_pair.messaging_channel_id, persona)
    if state != "stranger":
        LineAccount.objects.create(
            company=company,
            candidate=candidate,
            line_user_id=line_emulator.user_id(line_pair.messaging_channel_id, persona),
            friend_state=LineAccount.FriendState.BLOCKED if state == "blocked" else LineAccount.FriendState.FRIEND,
        )
    return candidate


def bulk(company, recruiter, candidates, **fields) -> Send:
    values: dict[str, Any] = {
        "kind": Kind.BULK,
        "subject": "説明会のご案内",
        "body": "{{候補者氏名}}様\n説明会のご案内です。",
        "send_line": True,
    }
    values.update(fields)
    return compose.create_send(Draft(**values), company=company, user=recruiter, candidates=[c.pk for c in candidates])


def outbox_by_key(line_emulator, line_pair) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for row in line_emulator.outbox(line_pair.messaging_channel_id):
        rows.setdefault(row["retry_key"], []).append(row)
    return rows


def test_bulk_send_of_50_lands_the_right_rows_and_outbox_entries(
    linked_company, recruiter, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    agent = Agent.objects.create(company=linked_company, agency_name="ABC", contact_email="abc@agent.example")
    friends = [friend(line_emulator, line_pair, linked_company, n) for n in range(20)]
    strangers = [friend(line_emulator, line_pair, linked_company, n, state="stranger") for n in range(20, 32)]
    blocked = [friend(line_emulator, line_pair, linked_company, n, state="blocked") for n in range(32, 42)]
    with_agent = [friend(line_emulator, line_pair, linked_company, n, agent=agent) for n in range(42, 50)]
    everyone = friends + strangers + blocked + with_agent
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, everyone)
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    line = {d.candidate_id: d for d in Delivery.objects.filter(send=send, channel=Channel.LINE)}
    assert {line[c.pk].status for c in friends + with_agent} == {"sent"}
    assert {(line[c.pk].status, line[c.pk].reason) for c in strangers} == {("skipped", rules.REASON_NOT_FRIEND)}
    assert {(line[c.pk].status, line[c.pk].reason) for c in blocked} == {("skipped", rules.REASON_BLOCKED)}
    assert Delivery.objects.filter(send=send, channel=Channel.EMAIL, status="sent").count() == 50
    assert len(mail.outbox) == 50

    entries = outbox_by_key(line_emulator, line_pair)
    sent_keys = {str(line[c.pk].id) for c in friends + with_agent}
    assert set(entries) == sent_keys  # one entry per retry key, only for those who may get LINE
    assert all(len(rows) == 1 for rows in entries.values())
    sample = entries[str(line[friends[0].pk].id)][0]
    assert sample["to"] == line[friends[0].pk].address
    assert sample["messages"] == [{"type": "text", "text": "説明会のご案内\n\n候補0 花子様\n説明会のご案内です。"}]
    assert line[friends[0].pk].line_message_ids == [m["id"] for m in sample["sent_messages"]]

    # The same people addressed through their agent: email to the agent, never LINE.
    with django_capture_on_commit_callbacks(execute=True):
        to_agents = bulk(linked_company, recruiter, with_agent, recipient_type=RecipientKind.AGENT)
    assert set(Delivery.objects.filter(send=to_agents, channel=Channel.LINE).values_list("status", "reason")) == {
        ("skipped", rules.REASON_AGENT)
    }
    assert len(line_emulator.outbox(line_pair.messaging_channel_id)) == len(sent_keys)


def test_accept_then_500_is_retried_with_the_same_key_and_sent_once(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    line_emulator.fault(PUSH, "accept-then-500")
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [line_friend_candidate])
    delivery = Delivery.objects.get(send=send, channel=Channel.LINE)
    entries = line_emulator.outbox(line_pair.messaging_channel_id)
    assert [row["retry_key"] for row in entries] == [str(delivery.id)]
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert delivery.line_accepted_request_id == entries[0]["request_id"]  # the 409 named the accepted call
    assert delivery.line_message_ids == [m["id"] for m in entries[0]["sent_messages"]]


def test_5xx_and_timeouts_are_retried_with_an_identical_request(
    linked_company,
    recruiter,
    line_friend_candidate,
    line_emulator,
    line_pair,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.LINE_HTTP_TIMEOUT = (1.0, 1.0)
    line_emulator.set_settings(fault_timeout_seconds=2)
    line_emulator.fault(PUSH, "500")
    line_emulator.fault(PUSH, "timeout")
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [line_friend_candidate])
    delivery = Delivery.objects.get(send=send, channel=Channel.LINE)
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    entries = line_emulator.outbox(line_pair.messaging_channel_id)
    assert [row["retry_key"] for row in entries] == [str(delivery.id)]


def test_rate_limit_429s_back_off_and_complete(
    linked_company, recruiter, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    line_emulator.set_settings(rate_limits={PUSH: 4})  # LINE's bucket: 4 pushes per second
    people = [friend(line_emulator, line_pair, linked_company, n) for n in range(12)]
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, people)
    deliveries = list(Delivery.objects.filter(send=send, channel=Channel.LINE))
    assert {d.status for d in deliveries} == {"sent"}
    assert max(d.throttled for d in deliveries) > 0  # some were refused with 429 and retried,
    assert {d.attempts for d in deliveries} == {1}  # without spending their attempts
    entries = outbox_by_key(line_emulator, line_pair)
    assert set(entries) == {str(d.id) for d in deliveries}
    assert all(len(rows) == 1 for rows in entries.values())


def test_quota_429_fails_the_rest_of_the_send_fast_with_the_reason(
    linked_company, recruiter, line_emulator, line_pair, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setitem(rows.BATCH, Channel.LINE, 5)  # several batches: the later ones never push
    line_emulator.set_channel(line_pair.messaging_channel_id, quota={"type": "limited", "value": 3})
    people = [friend(line_emulator, line_pair, linked_company, n) for n in range(15)]
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, people)
    deliveries = list(Delivery.objects.filter(send=send, channel=Channel.LINE))
    sent = [d for d in deliveries if d.status == "sent"]
    failed = [d for d in deliveries if d.status == "failed"]
    assert len(sent) == 3 and len(failed) == 12
    assert {d.reason for d in failed} == {rules.REASON_QUOTA}
    assert all(d.attempts <= 1 for d in failed)  # never retried
    assert len(line_emulator.outbox(line_pair.messaging_channel_id)) == 3
    assert Delivery.objects.filter(send=send, channel=Channel.EMAIL, status="sent").count() == 15


def test_a_permanent_4xx_fails_without_retrying(
    linked_company, recruiter, candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    # A userId from another provider: LINE answers 400 "Failed to send messages".
    LineAccount.objects.create(
        company=linked_company,
        candidate=candidate,
        line_user_id="U" + "e" * 32,
        friend_state=LineAccount.FriendState.FRIEND,
    )
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [candidate])
    delivery = Delivery.objects.get(send=send, channel=Channel.LINE)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "Failed to send messages" in delivery.reason


def test_long_text_goes_as_up_to_five_messages_and_attachments_stay_in_email(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = ("選考についてのご案内です。" * 20 + "\n") * 50  # about 13,000 characters
    upload = SimpleUploadedFile("案内.pdf", b"%PDF-1.4", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        bulk(linked_company, recruiter, [line_friend_candidate], body=body, attachments=[upload])
    [entry] = line_emulator.outbox(line_pair.messaging_channel_id)
    texts = [m["text"] for m in entry["messages"]]
    assert 3 <= len(texts) <= 5 and all(m["type"] == "text" for m in entry["messages"])
    assert "".join(texts) == "説明会のご案内\n\n" + body.strip("\n")
    assert mail.outbox[0].attachments[0][0] == "案内.pdf"


def test_the_line_tab_sends_to_line_only(
    recruiter_client, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    url = reverse("messaging:line_chat", args=[line_friend_candidate.pk])
    assert "disabled" not in recruiter_client.get(url).content.decode().split('name="body"')[1][:300]
    with django_capture_on_commit_callbacks(execute=True):
        response = recruiter_client.post(url, {"body": "明日の面接、よろしくお願いします。", "timing": "now"})
    assert response.status_code == 302
    [entry] = line_emulator.outbox(line_pair.messaging_channel_id)
    assert entry["messages"] == [{"type": "text", "text": "明日の面接、よろしくお願いします。"}]
    assert not mail.outbox
    send = Send.objects.get()
    assert send.kind == Kind.LINE_CHAT
    html = recruiter_client.get(url).content.decode()
    assert "明日の面接、よろしくお願いします。" in html and 'data-delivery-status="sent"' in html


def test_friend_invitations_carry_a_fresh_link_per_candidate_and_store_only_its_hash(
    linked_company, recruiter, line_emulator, line_pair, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://ats.example.com"
    people = [make_candidate(linked_company, email=f"i{n}@example.com", last_name=f"招待{n}") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(
            linked_company,
            recruiter,
            people,
            send_line=False,
            include_friend_invitation=True,
            body="{{姓}}様\nご案内です。",
        )
    tokens = {}
    for email in mail.outbox:
        found = re.findall(r"https://ats\.example\.com/line/friend/([A-Za-z0-9_-]+)/", str(email.body))
        assert len(found) == 1 and "有効期限：1週間" in email.body
        tokens[email.recipients()[0]] = found[0]
    assert len(set(tokens.values())) == 3  # a different URL for each candidate
    invitations = FriendInvitation.objects.filter(company=linked_company)
    assert {i.token_hash for i in invitations} == {hashlib.sha256(t.encode()).hexdigest() for t in tokens.values()}
    for invitation in invitations:
        assert abs((invitation.expires_at - invitation.created_at).total_seconds() - 7 * 86400) < 1
        assert invitation.created_at <= timezone.now()
    stored = " ".join(
        list(Message.objects.filter(send=send).values_list("body", flat=True))
        + list(Delivery.objects.filter(send=send).values_list("rendered_body", flat=True))
    )
    assert not any(token in stored for token in tokens.values())  # the raw token is never stored
    assert "（LINE友達登録URL）" in Message.objects.filter(send=send).first().body


def test_quota_guard_warns_when_the_send_would_exceed_the_months_remaining_quota(
    recruiter_client, linked_company, line_emulator, line_pair
):
    line_emulator.set_channel(line_pair.messaging_channel_id, quota={"type": "limited", "value": 100}, monthly_usage=98)
    html = recruiter_client.get(reverse("messaging:quota_guard") + "?n=5").content.decode()
    assert "data-quota-warning" in html and "5通" in html and "今月の残りは <strong>2通</strong>" in html
    html = recruiter_client.get(reverse("messaging:quota_guard") + "?n=1").content.decode()
    assert "data-quota-warning" not in html and "今月の残り 2通" in html


def test_the_line_text_is_stored_before_the_push_so_a_retry_after_a_crash_sends_the_same(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    from messaging.outbox import line as line_delivery

    with django_capture_on_commit_callbacks(execute=False):
        send = bulk(linked_company, recruiter, [line_friend_candidate], send_email=True)
    batch = rows.claim(send.pk, Channel.LINE, 10)
    pending = line_delivery.start(batch)
    [future.result() for _, future in pending.futures]  # pushed; the worker dies before writing back
    [entry] = line_emulator.outbox(line_pair.messaging_channel_id)
    delivery = Delivery.objects.get(send=send, channel=Channel.LINE)
    assert delivery.status == "sending"
    assert delivery.line_texts == [m["text"] for m in entry["messages"]]
    assert delivery.address == entry["to"]

    line_friend_candidate.last_name = "改名"  # a re-render now would differ
    line_friend_candidate.save()
    later = timezone.now() + rows.lease() + timedelta(seconds=1)
    with time_machine.travel(later, tick=True), django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)  # the retry met LINE's 409: already sent
    assert delivery.line_texts == [m["text"] for m in entry["messages"]] and "改名" not in delivery.line_texts[0]
    assert len(line_emulator.outbox(line_pair.messaging_channel_id)) == 1


def test_one_delivery_that_raises_fails_alone_and_its_batch_goes_on(
    linked_company, recruiter, line_emulator, line_pair, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from messaging import rendering

    people = [friend(line_emulator, line_pair, linked_company, n) for n in range(3)]
    people[1].last_name = "壊れたデータ"
    people[1].save()
    render = rendering.render_for_recipient

    def render_or_raise(subject, body, context, **kwargs):  # stands for a bug met with one recipient's data
        if context.last_name == "壊れたデータ":
            raise TypeError("unexpected data")
        return render(subject, body, context, **kwargs)

    with django_capture_on_commit_callbacks(execute=False):
        send = bulk(linked_company, recruiter, people, send_email=False, kind=Kind.LINE_CHAT, subject="")
    monkeypatch.setattr(rendering, "render_for_recipient", render_or_raise)  # the worker meets it
    tasks.drain(send.pk, Channel.LINE)
    rows = {d.candidate_id: d for d in Delivery.objects.filter(send=send)}
    assert (rows[people[1].pk].status, rows[people[1].pk].reason) == ("failed", rules.REASON_UNEXPECTED)
    assert rows[people[0].pk].status == rows[people[2].pk].status == "sent"
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert any(str(rows[people[1].pk].id) in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_a_reissued_channel_secret_fails_with_the_authentication_reason(
    linked_company, recruiter, line_emulator, line_pair, django_capture_on_commit_callbacks, monkeypatch
):
    from line_integration.api import tokens
    from line_integration.models import LineIntegration

    monkeypatch.setitem(rows.BATCH, Channel.LINE, 2)  # several batches: the later ones never try
    people = [friend(line_emulator, line_pair, linked_company, n) for n in range(5)]
    # The secret was reissued in LINE's console: the one we hold no longer mints tokens.
    integration = LineIntegration.objects.get(company=linked_company)
    integration.messaging_channel_secret = "f" * 32
    integration.access_token, integration.access_token_expires_at = "", None
    integration.save()
    tokens.forget_token(integration)
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, people)
    line = list(Delivery.objects.filter(send=send, channel=Channel.LINE))
    assert {(d.status, d.reason) for d in line} == {
        ("failed", "LINEの認証に失敗しました。LINE設定で連携をやり直してください。")
    }
    assert all(d.attempts <= 1 for d in line)
    assert Delivery.objects.filter(send=send, channel=Channel.EMAIL, status="sent").count() == 5
    assert line_emulator.outbox(line_pair.messaging_channel_id) == []


def test_rate_limit_429s_do_not_use_up_the_attempts(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks,
    monkeypatch,
):  # fmt: skip
    monkeypatch.setattr(rows, "MAX_ATTEMPTS", 2)
    line_emulator.fault(PUSH, "429-rate", count=4)  # throttled longer than the attempts would last
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [line_friend_candidate])
    delivery = Delivery.objects.get(send=send, channel=Channel.LINE)
    assert (delivery.status, delivery.attempts, delivery.throttled) == ("sent", 1, 4)
    assert [row["retry_key"] for row in line_emulator.outbox(line_pair.messaging_channel_id)] == [str(delivery.id)]


def test_rate_limit_429s_have_their_own_cap(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks,
    monkeypatch,
):  # fmt: skip
    monkeypatch.setattr(rows, "MAX_THROTTLED", 2)
    line_emulator.fault(PUSH, "429-rate", count=5)
    with django_capture_on_commit_callbacks(execute=True):
        send = bulk(linked_company, recruiter, [line_friend_candidate])
    delivery = Delivery.objects.get(send=send, channel=Channel.LINE)
    assert (delivery.status, delivery.throttled) == ("failed", 3)
    assert "レート制限が2回続きました" in delivery.reason
