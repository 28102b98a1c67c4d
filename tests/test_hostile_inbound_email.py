"""Inbound email with text the database cannot hold: answered 200 (so the provider stops
retrying) and stored cleaned (NUL taken out)."""

import base64
from email.message import EmailMessage

import pytest

from messaging.models import Message, MessageAttachment
from tests.conftest import make_candidate
from tests.test_inbound_email import _configured, post_email, raw_email  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hanako(company):
    return make_candidate(company, email="hanako@example.com", last_name="山田", first_name="花子")


@pytest.mark.parametrize(
    "fields",
    [{"subject": "日程\x00の件"}, {"body": "承知\x00しました"}],
    ids=["subject", "body"],
)
def test_a_nul_in_the_subject_or_body_is_taken_out(client, company, hanako, fields):
    response = post_email(client, raw_email(company, sender="hanako@example.com", **fields))
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    message = Message.objects.get(candidate=hanako)
    stored = message.subject if "subject" in fields else message.body
    assert stored == next(iter(fields.values())).replace("\x00", "")


def test_a_nul_in_the_senders_name_is_stored_cleaned(client, company, hanako):
    raw = raw_email(company, sender="hanako@example.com").replace(b"From: ", b"From: =?utf-8?q?=E5=B1=B1=00?= ", 1)
    response = post_email(client, raw)
    assert response.json()["status"] == "accepted"
    assert "\x00" not in Message.objects.get(candidate=hanako).sender_name


def test_a_bogus_charset_that_decodes_to_nuls_is_stored_cleaned(client, company, hanako):
    subject = base64.b64encode("件\x00名".encode("utf-16-le")).decode()
    raw = (
        b"From: hanako@example.com\r\nTo: "
        + f"reply+{company.public_id}@reply.example.jp".encode()
        + f"\r\nSubject: =?utf-16-le?b?{subject}?=\r\nContent-Type: text/plain; charset=utf-16-le\r\n\r\n".encode()
        + "本\x00文".encode("utf-16-le")
    )
    response = post_email(client, raw)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    message = Message.objects.get(candidate=hanako)
    assert (message.subject, message.body) == ("件名", "本文")


def test_an_attachment_with_a_long_content_type_and_name_is_kept_with_its_extension(client, company, hanako):
    message = EmailMessage()
    message["From"], message["Subject"] = "hanako@example.com", "履歴書"
    message["To"] = f"reply+{company.public_id}@reply.example.jp"
    message.set_content("添付します")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="x" * 150, filename="履" * 300 + ".pdf")
    response = post_email(client, message.as_bytes())
    assert response.json()["status"] == "accepted"
    attachment = MessageAttachment.objects.get()
    assert attachment.content_type == "application/octet-stream"
    assert len(attachment.name) == 255 and attachment.name.endswith("履.pdf")
