"""Unread replies, the navigation badge, the inbox page and its 対応済み mark, received images."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from messaging.models import Message, MessageAttachment
from messaging.receiving import inbound, inbox
from tests.conftest import make_candidate, make_recruiter

pytestmark = pytest.mark.django_db


def line_reply(candidate, text="ありがとうございます", minutes_ago=0, **fields):
    message, _ = inbound.add_incoming_line_message(
        candidate,
        line_message_id=f"{candidate.pk}{minutes_ago}{len(text)}{Message.objects.count()}",
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
        text=text,
        sender_name="山田 花子",
        **fields,
    )
    return message


def email_reply(candidate, subject="Re: 説明会のご案内", minutes_ago=0):
    message, _ = inbound.add_incoming_email(
        candidate,
        subject=subject,
        body="参加します。",
        from_address=candidate.email,
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
        email_message_id=f"<{candidate.pk}-{minutes_ago}@example.com>",
    )
    return message


def badge(client) -> str | None:
    page = client.get(reverse("candidates:list")).content.decode()
    marker = "data-nav-badge>"
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split("<", 1)[0]


def unread_tab(client) -> str:
    page = client.get(reverse("messaging:inbox")).content.decode()
    return page.split('href="?state=unread">未読 ', 1)[1].split("</span>", 1)[0].rsplit(">", 1)[1]


def test_the_badge_and_the_unread_tab_both_count_candidates_with_unread_replies(recruiter_client, candidate, company):
    assert badge(recruiter_client) is None
    line_reply(candidate)
    line_reply(candidate, "二通目")
    email_reply(candidate)
    line_reply(make_candidate(company, last_name="佐藤", email="sato@example.com"))
    assert badge(recruiter_client) == "2"  # two students waiting, four messages
    assert unread_tab(recruiter_client) == "2"
    badge_url = reverse("messaging:inbox_badge")
    assert ">2</span>" in recruiter_client.get(badge_url).content.decode()


def test_opening_the_line_tab_reads_line_replies_and_clears_the_badge(recruiter_client, candidate):
    line_reply(candidate)
    assert badge(recruiter_client) == "1"
    recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk]))
    assert badge(recruiter_client) is None
    assert Message.objects.get().read_at is not None


def test_opening_the_timeline_reads_everything_but_still_marks_what_was_new(recruiter_client, candidate):
    line_reply(candidate)
    email_reply(candidate)
    page = recruiter_client.get(reverse("messaging:timeline", args=[candidate.pk])).content.decode()
    assert page.count("data-unread") == 2
    assert badge(recruiter_client) is None
    page = recruiter_client.get(reverse("messaging:timeline", args=[candidate.pk])).content.decode()
    assert "data-unread" not in page


def test_another_companys_replies_do_not_count(recruiter_client, other_company):
    line_reply(make_candidate(other_company))
    assert badge(recruiter_client) is None


def test_every_page_polls_the_badge_which_follows_new_replies(recruiter_client, candidate, other_company):
    badge_url = reverse("messaging:inbox_badge")
    page = recruiter_client.get(reverse("candidates:list")).content.decode()
    assert f'hx-get="{badge_url}?v=" hx-trigger="every 3s, live:shown"' in page
    assert "data-nav-badge" not in recruiter_client.get(badge_url).content.decode()

    line_reply(candidate)
    line_reply(make_candidate(other_company, email="other@example.com"))
    assert '<span class="badge rounded-pill text-bg-danger" data-nav-badge>1</span>' in (
        recruiter_client.get(badge_url).content.decode()
    )


def test_the_badge_needs_a_login(client):
    response = client.get(reverse("messaging:inbox_badge"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_inbox_lists_candidates_with_replies_newest_first_with_a_preview(recruiter_client, company):
    older = make_candidate(company, last_name="佐藤", email="sato@example.com")
    newer = make_candidate(company, last_name="鈴木", email="suzuki@example.com")
    line_reply(older, "先週の件です", minutes_ago=60)
    line_reply(newer, "最初のメッセージ", minutes_ago=30)
    line_reply(newer, "", minutes_ago=5, content_type="sticker", sticker_package_id="446", sticker_id="1988")
    page = recruiter_client.get(reverse("messaging:inbox")).content.decode()
    assert page.index("鈴木") < page.index("佐藤")
    assert "［スタンプ］" in page and "先週の件です" in page and "最初のメッセージ" not in page
    assert 'data-unread="2"' in page and 'data-unread="1"' in page


def test_marking_handled_moves_the_candidate_to_handled_and_a_new_reply_reopens_it(recruiter_client, candidate):
    line_reply(candidate, minutes_ago=10)
    response = recruiter_client.post(reverse("messaging:inbox_handled", args=[candidate.pk]), {"state": "open"})
    assert response.status_code == 302 and response["Location"].endswith("?state=open")
    page = recruiter_client.get(response["Location"]).content.decode()
    assert "山田 花子さんを対応済みにしました。" in page
    assert f'data-inbox-row="{candidate.pk}"' not in page
    handled = recruiter_client.get(reverse("messaging:inbox") + "?state=handled").content.decode()
    assert candidate.name in handled and "対応済み" in handled
    assert badge(recruiter_client) is None  # handled is read too

    line_reply(candidate, "追加の質問です")
    page = recruiter_client.get(reverse("messaging:inbox")).content.decode()
    assert candidate.name in page and "追加の質問です" in page


def test_a_handled_candidate_can_be_reopened(recruiter_client, candidate):
    line_reply(candidate)
    inbox.mark_handled(candidate)
    recruiter_client.post(reverse("messaging:inbox_reopen", args=[candidate.pk]))
    assert candidate.name in recruiter_client.get(reverse("messaging:inbox")).content.decode()


def test_the_unread_tab_shows_only_unread(recruiter_client, company):
    read = make_candidate(company, last_name="既読", email="a@example.com")
    unread = make_candidate(company, last_name="未読者", email="b@example.com")
    line_reply(read)
    line_reply(unread)
    inbox.mark_read(read)
    page = recruiter_client.get(reverse("messaging:inbox") + "?state=unread").content.decode()
    assert "未読者" in page and "既読 花子" not in page


def test_the_empty_inbox_says_so(recruiter_client):
    page = recruiter_client.get(reverse("messaging:inbox")).content.decode()
    assert "未対応の返信はありません" in page


def test_another_companys_candidate_cannot_be_marked(client, candidate, other_company):
    line_reply(candidate)
    client.force_login(make_recruiter(other_company, "outsider"))
    assert client.post(reverse("messaging:inbox_handled", args=[candidate.pk])).status_code == 404
    assert client.post(reverse("messaging:inbox_reopen", args=[candidate.pk])).status_code == 404
    assert Message.objects.get().handled_at is None


def _attachment(message, name, content_type, data=b"\xff\xd8\xff\xd9"):
    return inbound.attach_file(message, inbound.IncomingFile(name=name, data=data, content_type=content_type))


def test_a_received_image_is_shown_in_place(recruiter_client, candidate):
    message = line_reply(candidate, "", content_type="image", extra={"content_status": "ready"})
    image = _attachment(message, "LINE画像_1.jpg", "image/jpeg")
    response = recruiter_client.get(reverse("messaging:message_attachment_inline", args=[image.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "attachment" not in response.get("Content-Disposition", "")
    assert response["X-Content-Type-Options"] == "nosniff"
    page = recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
    assert reverse("messaging:message_attachment_inline", args=[image.pk]) in page


def test_other_types_are_never_served_inline(recruiter_client, candidate):
    message = line_reply(candidate, "", content_type="file")
    html = _attachment(message, "a.html", "text/html", b"<script>alert(1)</script>")
    response = recruiter_client.get(reverse("messaging:message_attachment_inline", args=[html.pk]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_another_companys_received_file_is_404(client, candidate, other_company):
    message = line_reply(candidate, "", content_type="image")
    image = MessageAttachment.objects.create(
        company=candidate.company, message=message, file=ContentFile(b"x", name="a.jpg"), name="a.jpg"
    )
    client.force_login(make_recruiter(other_company, "outsider"))
    assert client.get(reverse("messaging:message_attachment_inline", args=[image.pk])).status_code == 404
    assert client.get(reverse("messaging:message_attachment", args=[image.pk])).status_code == 404


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"content_type": "sticker", "sticker_package_id": "446", "sticker_id": "1988"}, "sticker/1988/android"),
        ({"content_type": "file", "file_name": "成績.pdf", "extra": {"content_status": "pending"}}, "取得しています"),
        ({"content_type": "image", "extra": {"content_status": "gone"}}, "送信者により削除されました"),
        ({"content_type": "video", "extra": {"content_status": "not_found"}}, "見つかりませんでした"),
        ({"content_type": "audio", "extra": {"content_status": "failed", "duration_ms": 61000}}, "1:01"),
        (
            {"content_type": "location", "extra": {"title": "東京駅", "latitude": 35.68, "longitude": 139.76}},
            "query=35.68%2C139.76",
        ),
        ({"content_type": "beacon"}, "ATSでは表示できない種類"),
    ],
)
def test_every_received_line_type_renders_on_both_tabs(recruiter_client, candidate, fields, expected):
    message = line_reply(candidate, "", **fields)
    for name in ("messaging:timeline", "messaging:line_chat"):
        page = recruiter_client.get(reverse(name, args=[candidate.pk])).content.decode()
        assert expected in page, name
        assert f'id="message-{message.pk}"' in page


def test_an_unsent_message_is_hidden_and_marked(recruiter_client, candidate):
    message = line_reply(candidate, "やっぱり取り消します")
    inbound.mark_line_unsent(candidate.company, message.line_message_id)
    for name in ("messaging:timeline", "messaging:line_chat"):
        page = recruiter_client.get(reverse(name, args=[candidate.pk])).content.decode()
        assert "候補者が送信を取り消しました" in page and "やっぱり取り消します" not in page


def test_an_unsent_file_is_deleted_and_no_longer_served(
    recruiter_client, candidate, django_capture_on_commit_callbacks
):
    message = line_reply(candidate, "", content_type="file", file_name="成績.pdf", extra={"content_status": "ready"})
    stored = _attachment(message, "成績.pdf", "application/pdf", b"%PDF-1.4 secret")
    url = reverse("messaging:message_attachment", args=[stored.pk])
    assert recruiter_client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound.mark_line_unsent(candidate.company, message.line_message_id)
    assert not MessageAttachment.objects.exists()
    assert not stored.file.storage.exists(stored.file.name)
    message.refresh_from_db()
    assert (message.body, message.file_name, message.extra) == ("", "", {})
    assert message.unsent_at is not None
    assert recruiter_client.get(url).status_code == 404
    assert recruiter_client.get(reverse("messaging:message_attachment_inline", args=[stored.pk])).status_code == 404
    for name in ("messaging:timeline", "messaging:line_chat"):
        page = recruiter_client.get(reverse(name, args=[candidate.pk])).content.decode()
        assert "候補者が送信を取り消しました" in page and "成績.pdf" not in page


def test_content_downloaded_after_the_unsend_is_not_kept(candidate):
    message = line_reply(candidate, "", content_type="image", extra={"content_status": "pending"})
    inbound.mark_line_unsent(candidate.company, message.line_message_id)
    file = inbound.IncomingFile(name="a.jpg", data=b"\xff\xd8\xff\xd9", content_type="image/jpeg")
    inbound.set_line_content(candidate.company, message.line_message_id, status=inbound.CONTENT_READY, file=file)
    assert not MessageAttachment.objects.exists()


def test_a_file_of_an_unsent_message_is_never_served(recruiter_client, candidate):
    message = line_reply(candidate, "", content_type="image")
    leftover = _attachment(message, "a.jpg", "image/jpeg")
    Message.objects.filter(pk=message.pk).update(unsent_at=timezone.now())  # e.g. an unsend racing a download
    assert recruiter_client.get(reverse("messaging:message_attachment", args=[leftover.pk])).status_code == 404
    assert recruiter_client.get(reverse("messaging:message_attachment_inline", args=[leftover.pk])).status_code == 404


def test_opening_the_line_tab_leaves_email_replies_unread(recruiter_client, candidate):
    line_reply(candidate)
    email = email_reply(candidate)
    recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk]))
    assert badge(recruiter_client) == "1"
    email.refresh_from_db()
    assert email.read_at is None
