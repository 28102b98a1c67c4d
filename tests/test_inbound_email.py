"""Inbound email: a candidate's reply lands on their timeline, with attachments and a 返信 button."""

import io
from email.message import EmailMessage

import pytest
from django.core.management import call_command
from django.urls import reverse

from hrmos.models import AuditEvent
from messaging.models import Message
from messaging.receiving import inbound_email
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db

SECRET = "inbound-test-secret-0123456789"


@pytest.fixture(autouse=True)
def _configured(settings):
    settings.INBOUND_EMAIL_SECRET = SECRET
    settings.INBOUND_EMAIL_DOMAIN = "reply.example.jp"


def raw_email(
    company,
    *,
    sender="Hanako@Example.com",
    to=None,
    subject="Re: 一次面接のご案内",
    body="山田です。\n日程承知しました。",
    message_id="<reply-1@mail.example.com>",
    attachments=(),
    html=None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"山田 花子 <{sender}>"
    message["To"] = to or inbound_email.reply_address(company)
    message["Subject"] = subject
    message["Date"] = "Tue, 24 Nov 2026 10:00:00 +0900"
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for name, data, maintype, subtype in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def post_email(client, raw, secret=SECRET, **extra):
    headers = {inbound_email.SECRET_HEADER: secret} if secret else {}
    return client.post(
        reverse("messaging:inbound_email") + extra.pop("query", ""),
        data=raw,
        content_type="message/rfc822",
        headers=headers,
        **extra,
    )


def test_the_reply_address_carries_the_companys_public_id(company):
    assert inbound_email.reply_address(company) == f"reply+{company.public_id}@reply.example.jp"


def test_a_reply_from_a_candidate_lands_on_their_timeline_with_attachments(client, company, candidate):
    raw = raw_email(company, attachments=[("成績証明書.pdf", b"%PDF-1.4 test", "application", "pdf")])
    response = post_email(client, raw)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    message = Message.objects.get()
    assert (message.candidate, message.channel, message.direction) == (candidate, "email", "in")
    assert message.subject == "Re: 一次面接のご案内" and "日程承知しました。" in message.body
    assert message.from_address == "Hanako@Example.com" and message.sender_name == "山田 花子"
    assert message.email_message_id == "<reply-1@mail.example.com>"
    attachment = message.attachments.get()
    assert (attachment.name, attachment.content_type) == ("成績証明書.pdf", "application/pdf")
    assert attachment.file.read() == b"%PDF-1.4 test"


def test_the_sender_is_matched_case_insensitively(client, company, candidate):
    assert candidate.email == "hanako@example.com"
    post_email(client, raw_email(company, sender="HANAKO@EXAMPLE.COM"))
    assert Message.objects.get().candidate == candidate


def test_the_same_message_id_twice_is_stored_once(client, company, candidate):
    raw = raw_email(company)
    assert post_email(client, raw).json()["status"] == "accepted"
    assert post_email(client, raw).json()["status"] == "duplicate"
    assert Message.objects.count() == 1


def test_a_message_without_message_id_is_deduplicated_on_its_bytes(client, company, candidate):
    raw = raw_email(company, message_id=None)
    post_email(client, raw)
    post_email(client, raw)
    assert Message.objects.count() == 1


def test_an_unknown_sender_is_rejected_noted_and_listed_in_the_inbox(client, recruiter_client, company, candidate):
    response = post_email(client, raw_email(company, sender="stranger@example.net", subject="求人について"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "rejected",
        "reason": "unknown_sender",
        "detail": "差出人のメールアドレスが登録されている候補者がいません",
    }
    assert not Message.objects.exists()
    event = AuditEvent.objects.get(company=company, action="inbound_email_rejected")
    assert event.data == {"from": "stranger@example.net", "subject": "求人について"}
    page = recruiter_client.get(reverse("messaging:inbox")).content.decode()
    assert "stranger@example.net" in page and "求人について" in page


def test_a_candidate_of_another_company_is_not_matched(client, company, other_company):
    make_candidate(other_company, email="hanako@example.com")
    assert post_email(client, raw_email(company)).json()["reason"] == "unknown_sender"
    assert not Message.objects.exists()


def test_an_address_that_names_no_company_is_rejected(client, company, candidate):
    response = post_email(client, raw_email(company, to="reply+nosuchcompany0@reply.example.jp"))
    assert response.json()["reason"] == "unknown_recipient"
    other_domain = raw_email(company, to=f"reply+{company.public_id}@elsewhere.example.com")
    assert post_email(client, other_domain).json()["reason"] == "unknown_recipient"
    assert not Message.objects.exists()


def test_the_envelope_recipient_identifies_the_company_when_headers_do_not(client, company, candidate):
    raw = raw_email(company, to="採用担当 <saiyo@example.co.jp>")
    query = f"?recipient=reply%2B{company.public_id}%40reply.example.jp"
    assert post_email(client, raw, query=query).json()["status"] == "accepted"


def test_a_provider_form_post_with_the_raw_message_in_a_field_is_accepted(client, company, candidate):
    raw = raw_email(company)
    response = client.post(
        reverse("messaging:inbound_email"),
        {"email": raw.decode("utf-8"), "recipient": inbound_email.reply_address(company)},
        headers={inbound_email.SECRET_HEADER: SECRET},
    )
    assert response.json()["status"] == "accepted"


def test_an_html_only_reply_becomes_text(client, company, candidate):
    message = EmailMessage()
    message["From"] = candidate.email
    message["To"] = inbound_email.reply_address(company)
    message["Subject"] = "Re: ご案内"
    message.set_content("<p>参加&amp;希望します</p><p>よろしくお願いします</p>", subtype="html")
    post_email(client, message.as_bytes())
    body = Message.objects.get().body
    assert "参加&希望します" in body and "<p>" not in body


def test_the_secret_header_is_required(client, company, candidate):
    assert post_email(client, raw_email(company), secret=None).status_code == 403
    assert post_email(client, raw_email(company), secret="wrong").status_code == 403
    assert not Message.objects.exists()


def test_the_endpoint_is_off_without_a_configured_secret(client, company, candidate, settings):
    settings.INBOUND_EMAIL_SECRET = ""
    assert post_email(client, raw_email(company), secret="").status_code == 404


def test_a_message_without_a_sender_is_400(client, company):
    assert post_email(client, b"Subject: hi\r\n\r\nbody").status_code == 400


def test_the_received_email_offers_the_reply_of_the_sending_pipeline(client, recruiter_client, company, candidate):
    post_email(client, raw_email(company))
    message = Message.objects.get()
    page = recruiter_client.get(reverse("messaging:timeline", args=[candidate.pk])).content.decode()
    assert reverse("messaging:reply", args=[message.pk]) in page
    assert "日程承知しました。" in page
    reply = recruiter_client.get(reverse("messaging:reply", args=[message.pk]))
    assert reply.status_code == 200 and "Re: 一次面接のご案内" in reply.content.decode()


def test_the_command_reads_stdin(company, candidate, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw_email(company))))
    call_command("receive_email")
    assert "accepted" in capsys.readouterr().out
    assert Message.objects.get().candidate == candidate


def test_the_command_reads_a_file_and_bounces_unknown_senders_with_exit_67(company, candidate, tmp_path, capsys):
    path = tmp_path / "mail.eml"
    path.write_bytes(raw_email(company, sender="nobody@example.org"))
    with pytest.raises(SystemExit) as exit_info:
        call_command("receive_email", file=str(path))
    assert exit_info.value.code == 67
    assert "候補者がいません" in capsys.readouterr().err


def test_the_command_takes_the_envelope_recipient(company, candidate, tmp_path):
    path = tmp_path / "mail.eml"
    path.write_bytes(raw_email(company, to="someone@example.co.jp"))
    call_command("receive_email", file=str(path), recipient=[inbound_email.reply_address(company)])
    assert Message.objects.count() == 1


def test_the_database_holds_one_message_per_message_id(company, candidate):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    fields = {"company": company, "candidate": candidate, "channel": "email", "direction": "in"}
    Message.objects.create(**fields, email_message_id="<same@mail.example.com>", occurred_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(**fields, email_message_id="<same@mail.example.com>", occurred_at=timezone.now())
    Message.objects.create(**fields, email_message_id="", occurred_at=timezone.now())  # outgoing items have none
    Message.objects.create(**fields, email_message_id="", occurred_at=timezone.now())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_email_at_the_same_moment_store_it_once(company, candidate, settings):
    """A provider retrying concurrently: the second insert waits on the first's Message-ID,
    then returns its item, and writes no attachment file of its own."""
    import threading

    from django.db import connections, transaction
    from django.utils import timezone

    from messaging.receiving import inbound

    def receive():
        return inbound.add_incoming_email(
            candidate,
            subject="Re: ご案内",
            body="参加します。",
            from_address=candidate.email,
            occurred_at=timezone.now(),
            email_message_id="<race@mail.example.com>",
            attachments=[inbound.IncomingFile("履歴書.pdf", b"%PDF", "application/pdf")],
        )

    inserted, release, first = threading.Event(), threading.Event(), {}

    def first_delivery() -> None:
        with transaction.atomic():
            first["message"], _ = receive()
            inserted.set()
            release.wait(10)
        connections.close_all()

    thread = threading.Thread(target=first_delivery)
    thread.start()
    assert inserted.wait(10)
    threading.Timer(0.5, release.set).start()  # commits while the second insert is waiting
    second, created = receive()
    thread.join()
    assert not created and second.pk == first["message"].pk
    assert Message.objects.count() == 1
    assert second.attachments.count() == 1
    assert len(list(settings.MEDIA_ROOT.rglob("*.pdf"))) == 1
