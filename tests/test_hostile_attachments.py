"""Attachments with names and types the columns and the file system cannot take as they are."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hrmos.text import content_type, disk_name, file_name
from messaging.models import SendAttachment
from tests.test_messaging_views import compose_post

pytestmark = pytest.mark.django_db


def test_a_compose_attachment_with_a_long_type_and_name_is_kept(recruiter_client, candidate):
    upload = SimpleUploadedFile("資" * 300 + ".pdf", b"%PDF-1.4", content_type="application/" + "x" * 150)
    response = recruiter_client.post(
        reverse("messaging:compose", args=[candidate.pk]), compose_post(attachments=[upload]), follow=True
    )
    assert response.status_code == 200
    attachment = SendAttachment.objects.get()
    assert attachment.content_type == "application/octet-stream"
    assert attachment.name.endswith(".pdf") and len(attachment.name) <= 255
    assert attachment.file.name.endswith(".pdf")
    download = recruiter_client.get(reverse("messaging:attachment", args=[attachment.pk]))
    assert download.status_code == 200


def test_file_names_keep_their_extension_when_shortened():
    assert file_name("a" * 300 + ".xlsx") == "a" * 250 + ".xlsx"
    assert file_name("short.pdf") == "short.pdf"
    assert file_name("a\x00b.pdf") == "ab.pdf"
    assert len(disk_name("履" * 300 + ".pdf").encode()) <= 120 and disk_name("履" * 300 + ".pdf").endswith(".pdf")
    assert disk_name("..\\..\\evil.exe") == "evil.exe"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("image/PNG; charset=binary", "image/png"),
        ("application/" + "x" * 150, "application/octet-stream"),
        ("not a type", "application/octet-stream"),
        ("", ""),
    ],
)
def test_content_types_fit_their_column(given, stored):
    assert content_type(given) == stored
