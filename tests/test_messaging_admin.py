"""The operator's view of sends, deliveries and timeline items in the Django admin: read-only."""

import pytest
from django.urls import reverse

from hrmos.models import User
from messaging.models import Delivery, Kind, Message, MessageAttachment, Send, SendAttachment
from messaging.receiving import inbound
from messaging.sending import compose
from messaging.sending.compose import Draft

pytestmark = pytest.mark.django_db

MODELS = [Send, Delivery, Message, SendAttachment, MessageAttachment]


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-for-ops-only"))
    return client


@pytest.fixture
def send(company, recruiter, candidate, django_capture_on_commit_callbacks) -> Send:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=False):
        created = compose.create_send(
            Draft(
                kind=Kind.BULK,
                subject="説明会のご案内",
                body="本文",
                attachments=[SimpleUploadedFile("資料.pdf", b"%PDF", content_type="application/pdf")],
            ),
            company=company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    inbound.add_incoming_email(
        candidate,
        subject="Re: 説明会",
        body="参加します",
        from_address=candidate.email,
        occurred_at=timezone.now(),
        attachments=[inbound.IncomingFile("履歴書.pdf", b"%PDF", "application/pdf")],
    )
    return created


def url(model, view: str, *args) -> str:
    return reverse(f"admin:messaging_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS)
def test_lists_and_searches_load(admin_client, send, model):
    for query in ("", "?q=説明会", "?q=not-a-uuid-or-number"):
        assert admin_client.get(url(model, "changelist") + query).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_nothing_can_be_added_changed_or_deleted(admin_client, send, model):
    row = model.objects.first()
    assert admin_client.get(url(model, "add")).status_code == 403
    page = admin_client.get(url(model, "change", row.pk))
    assert page.status_code == 200 and 'type="submit"' not in page.content.decode().split('id="content-main"')[1]
    assert admin_client.post(url(model, "change", row.pk), {}).status_code == 403
    assert admin_client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_a_send_links_to_its_deliveries(admin_client, send):
    page = admin_client.get(url(Send, "changelist")).content.decode()
    link = url(Delivery, "changelist") + f"?send__id__exact={send.pk}"
    assert link in page
    listing = admin_client.get(link)
    assert listing.status_code == 200 and str(Delivery.objects.get(send=send).pk) in listing.content.decode()
    assert Message.objects.count() == 2
