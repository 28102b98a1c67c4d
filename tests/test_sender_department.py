"""{{送信者部署}}: the sending recruiter's department, set on their profile. Rendered like the
sender's name; never rendered empty: refused for a recruiter without one, and for automatic
emails, which have no sender."""

import pytest
from django.core import mail
from django.urls import reverse

from hrmos.models import AuditEvent
from messaging.models import Kind, Send
from messaging.sending import automatic, compose, forms
from messaging.sending.compose import ComposeError, Draft

pytestmark = pytest.mark.django_db

BODY = "{{候補者氏名}}様\n{{送信者部署}} {{送信者名}}"


def in_department(recruiter, department="人事部 新卒採用課"):
    recruiter.department = department
    recruiter.save(update_fields=["department"])
    return recruiter


def test_it_renders_the_senders_department_in_the_email(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    in_department(recruiter)
    with django_capture_on_commit_callbacks(execute=True):
        send = compose.create_send(
            Draft(kind=Kind.CANDIDATE, subject="{{送信者部署}}より", body=BODY),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    assert send.sender_department == "人事部 新卒採用課"
    [email] = mail.outbox
    assert email.subject == "人事部 新卒採用課より"
    assert "山田 花子様\n人事部 新卒採用課 採用 太郎" in email.body
    assert "人事部 新卒採用課 採用 太郎" in send.messages.get().body  # the timeline copy


def test_a_recruiter_without_a_department_is_refused_with_a_message(company, recruiter, candidate):
    with pytest.raises(ComposeError) as refused:
        compose.create_send(
            Draft(kind=Kind.CANDIDATE, subject="ご連絡", body=BODY),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    assert refused.value.errors == {"body": ["{{送信者部署}} を使うには、プロフィールで所属部署を設定してください。"]}
    assert not Send.objects.exists()


def test_the_compose_screen_refuses_it_and_the_preview_says_why(recruiter_client, candidate):
    url = reverse("messaging:compose", args=[candidate.pk])
    response = recruiter_client.post(url, {"compose": "1", "subject": "ご連絡", "body": BODY, "timing": "now"})
    page = response.content.decode()
    assert "{{送信者部署}} を使うには、プロフィールで所属部署を設定してください。" in page
    assert not Send.objects.exists()
    preview = recruiter_client.post(
        reverse("messaging:compose_preview"), {"ids": [candidate.pk], "subject": "件名", "body": BODY}
    ).content.decode()
    assert "プロフィールで所属部署を設定してください" in preview and reverse("profile") in preview


def test_the_preview_fills_it_for_a_recruiter_with_a_department(recruiter_client, recruiter, candidate):
    in_department(recruiter, "人事部")
    preview = recruiter_client.post(
        reverse("messaging:compose_preview"), {"ids": [candidate.pk], "subject": "件名", "body": BODY}
    ).content.decode()
    assert "人事部 採用 太郎" in preview and "プロフィールで所属部署" not in preview


def test_an_automatic_email_cannot_use_it(company, candidate):
    with pytest.raises(ComposeError) as refused:
        automatic.send_automatic(
            Kind.FORM_CONFIRMATION, company=company, candidate=candidate, subject="回答の確認", body=BODY
        )
    assert "{{送信者部署}} は自動送信のメールでは使えません" in refused.value.errors["body"][0]


def test_compose_offers_it_beside_the_senders_name():
    offered = [code for code, _ in forms.placeholder_help(Kind.CANDIDATE)]
    assert offered.index("{{送信者部署}}") == offered.index("{{送信者名}}") + 1


def test_a_scheduled_send_keeps_the_department_it_was_made_with(company, recruiter, candidate):
    from datetime import timedelta

    from django.utils import timezone

    from messaging.sending import scheduling

    in_department(recruiter, "人事部")
    send = compose.create_send(
        Draft(kind=Kind.BULK, subject="予約", body="本文", scheduled_at=timezone.now() + timedelta(days=1)),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    in_department(recruiter, "")  # moved on since; the reservation was made as 人事部
    later = Draft(kind=Kind.BULK, subject="予約", body=BODY, scheduled_at=timezone.now() + timedelta(days=2))
    assert scheduling.edit_scheduled_send(send, later, version=send.version, user=recruiter)
    assert "人事部 採用 太郎" in send.messages.get().body


def test_the_profile_page_sets_the_department_and_audits(recruiter_client, recruiter):
    page = recruiter_client.get(reverse("profile")).content.decode()
    assert "所属部署" in page
    response = recruiter_client.post(
        reverse("profile"), {"last_name": "採用", "first_name": "太郎", "department": "人事部"}, follow=True
    )
    assert "プロフィールを保存しました。" in response.content.decode()
    recruiter.refresh_from_db()
    assert recruiter.department == "人事部"
    assert AuditEvent.objects.get(action="hrmos.profile_updated").data == {"fields": ["department"]}


def test_the_profile_page_refuses_bad_input(recruiter_client, recruiter):
    response = recruiter_client.post(
        reverse("profile"), {"last_name": "採用", "first_name": "", "department": "部" * 101}
    )
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    recruiter.refresh_from_db()
    assert recruiter.department == ""


def test_the_admin_edits_the_department(client, db):
    from hrmos.models import User

    client.force_login(User.objects.create_superuser("operator", "ops@example.com", "pw-for-ops"))
    page = client.get(reverse("admin:hrmos_user_change", args=[User.objects.get().pk])).content.decode()
    assert 'name="department"' in page


def test_the_line_copy_carries_it_too(company, recruiter, candidate):
    from messaging import rendering

    in_department(recruiter, "人事部")
    send = compose.create_send(
        Draft(kind=Kind.CANDIDATE, subject="ご連絡", body=BODY),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    rendered = rendering.render_delivery(send.deliveries.select_related("send__company", "candidate").get())
    assert rendered.line_texts == ["ご連絡\n\n山田 花子様\n人事部 採用 太郎"]


def test_a_nul_character_in_the_profile_gets_a_clear_message(recruiter_client, recruiter):
    response = recruiter_client.post(
        reverse("profile"), {"last_name": "採用", "first_name": "太郎", "department": "人\x00事"}
    )
    assert "使用できない文字（NUL文字）が含まれています。" in response.content.decode()
    recruiter.refresh_from_db()
    assert recruiter.department == ""
