"""The sending screens: compose (bulk, one candidate, reply), the send page and its progress,
scheduled sends, the timeline and LINE tabs, and tenant isolation."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from candidates.models import Agent
from messaging.models import Channel, Delivery, Kind, Message, Send
from messaging.receiving import inbound, inbox
from messaging.sending import compose
from messaging.sending.compose import Draft
from tests.conftest import make_candidate
from tests.test_messaging_compose import linked

pytestmark = pytest.mark.django_db


def compose_post(**fields) -> dict:
    data = {
        "compose": "1",
        "subject": "一次面接のご案内",
        "body": "{{候補者氏名}}様\n面接のご案内です。",
        "timing": "now",
    }
    data.update(fields)
    return data


def test_the_list_bulk_action_opens_compose_with_the_selection(recruiter_client, company):
    a = make_candidate(company, email="a@example.com", last_name="青木")
    b = make_candidate(company, email="b@example.com", last_name="伊藤")
    response = recruiter_client.post(reverse("messaging:compose_bulk"), {"ids": [a.pk, b.pk]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "候補者 2名" in html
    assert f'name="ids" value="{a.pk}"' in html
    assert "LINEメッセージを送信する" in html
    assert "LINE友達登録URL" in html
    assert "LINE連携が「連携中」ではないため" in html  # the LINE options say why they are off
    assert not Send.objects.exists()


def test_bulk_compose_covers_every_page_of_the_filtered_list(
    recruiter_client, company, django_capture_on_commit_callbacks
):
    for i in range(60):
        make_candidate(company, email=f"c{i}@example.com", last_name=f"候補{i}")
    make_candidate(company, email="other@example.com", last_name="対象外", graduation_year=2030)
    data = compose_post(all_matching="1", query="year=2027")
    with django_capture_on_commit_callbacks(execute=True):
        response = recruiter_client.post(reverse("messaging:compose_bulk"), data)
    send = Send.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("messaging:send_detail", args=[send.pk])
    assert send.recipient_count == 60
    assert len(mail.outbox) == 60


def test_submitting_lands_on_the_send_page_with_progress(
    recruiter_client, company, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = recruiter_client.post(reverse("messaging:compose_bulk"), compose_post(ids=[candidate.pk]))
    html = recruiter_client.get(response["Location"]).content.decode()
    assert "1名への送信を開始しました。" in html
    assert 'data-channel-progress="email"' in html
    assert "送信完了" in html
    assert "山田 花子" in html
    progress = recruiter_client.get(reverse("messaging:send_progress", args=[Send.objects.get().pk]))
    assert "<strong data-finished>1</strong> / <span data-total>1</span>" in progress.content.decode()
    assert "hx-trigger" not in progress.content.decode()  # done: the polling stops


def test_an_unfinished_send_keeps_polling(recruiter_client, company, candidate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        recruiter_client.post(reverse("messaging:compose_bulk"), compose_post(ids=[candidate.pk]))
    html = recruiter_client.get(reverse("messaging:send_progress", args=[Send.objects.get().pk])).content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert "<strong data-finished>0</strong> / <span data-total>1</span>" in html


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"subject": ""}, "件名を入力してください。"),
        ({"body": ""}, "本文を入力してください。"),
        ({"body": "{{会社名}}"}, "使用できない差し込み項目があります：{{会社名}}"),
        ({"timing": "scheduled", "scheduled_at": ""}, "送信予約日時を入力してください。"),
        (
            {"timing": "scheduled", "scheduled_at": "2020-01-01T10:00"},
            "送信日時には現在より後の日時を指定してください。",
        ),
        ({"timing": "scheduled", "scheduled_at": "not a date"}, "日時"),
    ],
)
def test_bad_input_shows_a_clear_message_and_sends_nothing(recruiter_client, candidate, fields, text):
    response = recruiter_client.post(reverse("messaging:compose_bulk"), compose_post(ids=[candidate.pk], **fields))
    assert response.status_code == 200
    assert text in response.content.decode()
    assert not Send.objects.exists()


def test_no_recipients_shows_a_clear_message(recruiter_client):
    response = recruiter_client.post(reverse("messaging:compose_bulk"), compose_post())
    assert "宛先の候補者が選択されていません" in response.content.decode()
    assert not Send.objects.exists()


def test_unknown_placeholder_preview_shows_the_first_recipient(recruiter_client, candidate):
    response = recruiter_client.post(
        reverse("messaging:compose_preview"),
        {"ids": [candidate.pk], "subject": "件名", "body": "{{候補者氏名}}様 {{学校名}}"},
    )
    html = response.content.decode()
    assert "使用できない差し込み項目があります" in html and "{{学校名}}" in html
    assert "山田 花子様" in html


def test_candidate_detail_compose_sends_to_that_candidate_only(
    recruiter_client, company, candidate, django_capture_on_commit_callbacks
):
    make_candidate(company, email="other@example.com")
    url = reverse("messaging:compose", args=[candidate.pk])
    page = recruiter_client.get(url).content.decode()
    assert "山田 花子さんにメッセージを送信" in page
    assert 'name="include_friend_invitation"' not in page  # the invitation lives on the bulk screen only
    assert "LINE友達登録URL" not in page
    with django_capture_on_commit_callbacks(execute=True):
        recruiter_client.post(url, compose_post(ids=["999999"]))  # the URL decides the recipient
    send = Send.objects.get()
    assert (send.kind, send.recipient_count) == (Kind.CANDIDATE, 1)
    assert mail.outbox[0].recipients() == ['"山田 花子" <hanako@example.com>']


def test_recipient_choice_appears_where_an_agent_exists(recruiter_client, company):
    agent = Agent.objects.create(company=company, agency_name="ABCエージェント", contact_email="abc@agent.example")
    with_agent = make_candidate(company, email="w@example.com", agent=agent)
    without = make_candidate(company, email="o@example.com")
    assert (
        "エージェント"
        not in recruiter_client.get(reverse("messaging:compose", args=[without.pk]))
        .content.decode()
        .split("宛先")[1][:400]
    )
    assert (
        'name="recipient_type"'
        in recruiter_client.get(reverse("messaging:compose", args=[with_agent.pk])).content.decode()
    )


def test_reply_quotes_the_received_email_with_re_subject(
    recruiter_client, company, candidate, django_capture_on_commit_callbacks
):
    received, _ = inbound.add_incoming_email(
        candidate,
        subject="面接日程について",
        body="よろしくお願いします。\n山田",
        from_address="hanako@example.com",
        sender_name="山田 花子",
        email_message_id="<abc@mail.example>",
        occurred_at=timezone.now(),
    )
    timeline = recruiter_client.get(reverse("messaging:timeline", args=[candidate.pk])).content.decode()
    assert reverse("messaging:reply", args=[received.pk]) in timeline
    page = recruiter_client.get(reverse("messaging:reply", args=[received.pk])).content.decode()
    assert 'value="Re: 面接日程について"' in page
    assert "&gt; よろしくお願いします。" in page
    with django_capture_on_commit_callbacks(execute=True):
        recruiter_client.post(
            reverse("messaging:reply", args=[received.pk]),
            compose_post(subject="Re: 面接日程について", body="承知しました。\n> よろしくお願いします。"),
        )
    send = Send.objects.get()
    assert (send.kind, send.in_reply_to) == (Kind.REPLY, received)
    assert mail.outbox[0].extra_headers["In-Reply-To"] == "<abc@mail.example>"


def test_timeline_shows_each_channel_status_and_reason(
    recruiter_client, company, recruiter, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        compose.create_send(
            Draft(kind=Kind.CANDIDATE, subject="ご連絡", body="本文", send_line=True),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    html = recruiter_client.get(reverse("messaging:timeline", args=[candidate.pk])).content.decode()
    assert 'data-delivery-channel="email" data-delivery-status="sent"' in html
    assert 'data-delivery-channel="line" data-delivery-status="skipped"' in html
    assert "LINE連携が解除されています" in html


def test_line_tab_send_box_is_disabled_with_the_reason(recruiter_client, company, candidate):
    linked(company)
    html = recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
    assert "LINEメッセージを送信できません：LINE友達ではありません" in html
    response = recruiter_client.post(
        reverse("messaging:line_chat", args=[candidate.pk]), {"body": "こんにちは", "timing": "now"}
    )
    assert "LINEメッセージを送信できません" in response.content.decode()
    assert not Send.objects.exists()


def test_opening_the_line_tab_marks_incoming_line_messages_read(recruiter_client, company, candidate):
    message, created = inbound.add_incoming_line_message(
        candidate, line_message_id="100001", occurred_at=timezone.now(), text="返信です"
    )
    again, created_again = inbound.add_incoming_line_message(
        candidate, line_message_id="100001", occurred_at=timezone.now(), text="返信です"
    )
    assert created and not created_again and again.pk == message.pk
    assert inbox.unread_count(company) == 1  # the navigation badge
    html = recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
    assert "返信です" in html
    assert inbox.unread_count(company) == 0


def test_incoming_content_we_cannot_show_gets_a_placeholder(recruiter_client, company, candidate):
    inbound.add_incoming_line_message(
        candidate, line_message_id="100002", occurred_at=timezone.now(), content_type="sticker", sticker_id="1"
    )
    html = recruiter_client.get(reverse("messaging:timeline", args=[candidate.pk])).content.decode()
    assert "スタンプ" in html  # the sticker partial, or the generic placeholder: never nothing


def test_scheduled_sends_list_edit_and_cancel(recruiter_client, company, recruiter, candidate):
    send = compose.create_send(
        Draft(kind=Kind.BULK, subject="予約", body="本文", scheduled_at=timezone.now() + timedelta(days=1)),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    listing = recruiter_client.get(reverse("messaging:send_list") + "?tab=scheduled").content.decode()
    assert "予約" in listing and reverse("messaging:send_edit", args=[send.pk]) in listing
    later = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = recruiter_client.post(
        reverse("messaging:send_edit", args=[send.pk]),
        {
            "subject": "予約（変更）",
            "body": "新しい本文",
            "timing": "scheduled",
            "scheduled_at": later,
            "version": send.version,
        },
        follow=True,
    )
    assert "送信予約を変更しました。" in response.content.decode()
    send.refresh_from_db()
    assert (send.subject, send.version) == ("予約（変更）", 2)
    response = recruiter_client.post(reverse("messaging:send_cancel", args=[send.pk]), follow=True)
    assert "送信予約をキャンセルしました。" in response.content.decode()
    assert set(Delivery.objects.filter(send=send).values_list("status", flat=True)) == {"cancelled"}
    response = recruiter_client.post(reverse("messaging:send_cancel", args=[send.pk]), follow=True)
    assert "キャンセルできませんでした" in response.content.decode()


def result_cell(listing: str, send: Send) -> str:
    row = next(row for row in listing.split("<tr>") if reverse("messaging:send_detail", args=[send.pk]) in row)
    return row.split("data-send-result>")[1].split("</span>")[0]


def test_the_send_history_says_scheduled_and_cancelled_not_a_count(recruiter_client, company, recruiter, candidate):
    send = compose.create_send(
        Draft(kind=Kind.BULK, subject="予約", body="本文", scheduled_at=timezone.now() + timedelta(days=1)),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    detail_url = reverse("messaging:send_detail", args=[send.pk])

    listing = recruiter_client.get(reverse("messaging:send_list")).content.decode()
    assert "送信予約" in result_cell(listing, send) and "bi-check2" not in result_cell(listing, send)
    assert "件完了" not in recruiter_client.get(detail_url).content.decode()

    recruiter_client.post(reverse("messaging:send_cancel", args=[send.pk]))

    listing = recruiter_client.get(reverse("messaging:send_list")).content.decode()
    assert "キャンセル" in result_cell(listing, send) and "bi-check2" not in result_cell(listing, send)
    detail = recruiter_client.get(detail_url).content.decode()
    assert "件完了" not in detail and "送信済み 0" not in detail
    assert "キャンセル <span data-total>1</span> 件（送信しません）" in detail


def test_the_send_history_shows_no_green_zero_before_anything_went_out(recruiter_client, company, recruiter, candidate):
    waiting = compose.create_send(
        Draft(kind=Kind.BULK, subject="今すぐ", body="本文"), company=company, user=recruiter, candidates=[candidate.pk]
    )

    cell = result_cell(recruiter_client.get(reverse("messaging:send_list")).content.decode(), waiting)

    assert "bi-check2" not in cell and "—" in cell


def test_another_companys_sends_and_messages_are_404(client, other_company_recruiter, company, recruiter, candidate):
    send = compose.create_send(
        Draft(kind=Kind.BULK, subject="社外秘", body="本文", scheduled_at=timezone.now() + timedelta(days=1)),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    received, _ = inbound.add_incoming_email(
        candidate, subject="受信", body="本文", from_address="x@example.com", occurred_at=timezone.now()
    )
    client.force_login(other_company_recruiter)
    for url in [
        reverse("messaging:send_detail", args=[send.pk]),
        reverse("messaging:send_progress", args=[send.pk]),
        reverse("messaging:send_edit", args=[send.pk]),
        reverse("messaging:reply", args=[received.pk]),
        reverse("messaging:timeline", args=[candidate.pk]),
        reverse("messaging:line_chat", args=[candidate.pk]),
        reverse("messaging:compose", args=[candidate.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("messaging:send_cancel", args=[send.pk])).status_code == 404
    assert "社外秘" not in client.get(reverse("messaging:send_list")).content.decode()
    send.refresh_from_db()
    assert send.status == Send.Status.SCHEDULED


def test_bulk_compose_ignores_another_companys_ids(client, other_company_recruiter, candidate):
    client.force_login(other_company_recruiter)
    response = client.post(reverse("messaging:compose_bulk"), compose_post(ids=[candidate.pk]))
    assert "宛先の候補者が選択されていません" in response.content.decode()
    assert not Message.objects.exists()


def test_attachment_download_is_scoped(
    recruiter_client, client, other_company_recruiter, company, recruiter, candidate
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    send = compose.create_send(
        Draft(
            kind=Kind.BULK,
            subject="資料",
            body="本文",
            scheduled_at=timezone.now() + timedelta(hours=1),
            attachments=[SimpleUploadedFile("資料.pdf", b"%PDF", content_type="application/pdf")],
        ),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    attachment = send.attachments.get()
    response = recruiter_client.get(reverse("messaging:attachment", args=[attachment.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF"
    client.force_login(other_company_recruiter)
    assert client.get(reverse("messaging:attachment", args=[attachment.pk])).status_code == 404


def test_detail_page_offers_the_tabs_and_the_send_button(recruiter_client, candidate):
    html = recruiter_client.get(reverse("candidates:detail", args=[candidate.pk])).content.decode()
    assert reverse("messaging:timeline", args=[candidate.pk]) in html
    assert reverse("messaging:line_chat", args=[candidate.pk]) in html
    assert reverse("messaging:compose", args=[candidate.pk]) in html


def test_line_delivery_rows_for_a_line_chat_send(company, recruiter, candidate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        send = compose.create_send(
            Draft(kind=Kind.LINE_CHAT, subject="", body="LINEだけ", send_email=False, send_line=True),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    assert list(Delivery.objects.filter(send=send).values_list("channel", flat=True)) == [Channel.LINE]
    assert Message.objects.get(send=send).channel == Channel.LINE


def test_line_tab_leaves_out_messages_that_never_went_to_line(
    recruiter_client, company, recruiter, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        compose.create_send(
            Draft(kind=Kind.CANDIDATE, subject="メールのみ届いた件", body="本文", send_line=True),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    line_tab = recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
    assert "メールのみ届いた件" not in line_tab  # its LINE copy was skipped: not LINE history
    timeline = recruiter_client.get(reverse("messaging:timeline", args=[candidate.pk])).content.decode()
    assert "メールのみ届いた件" in timeline


def test_the_send_pages_say_line_only_for_a_line_tab_message(
    recruiter_client, company, recruiter, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        line_only = compose.create_send(
            Draft(kind=Kind.LINE_CHAT, subject="", body="LINEだけの連絡", send_email=False, send_line=True),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
        compose.create_send(
            Draft(kind=Kind.CANDIDATE, subject="メールとLINEの連絡", body="本文", send_line=True),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    listing = recruiter_client.get(reverse("messaging:send_list")).content.decode()
    assert listing.count("LINEのみ") == 1 and listing.count("LINEにも送信") == 1
    detail = recruiter_client.get(reverse("messaging:send_detail", args=[line_only.pk])).content.decode()
    assert "LINEのみ" in detail and "LINEにも送信" not in detail
