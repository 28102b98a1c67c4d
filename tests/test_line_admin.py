"""The operator's view of LINE data in the Django admin: read-only, secrets hidden, failed
events can be run again."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from hrmos.models import User
from line_integration.friends.invitations import issue_invitation
from line_integration.models import FriendInvitation, LineIntegration, LineLoginAttempt, LineWebhookEvent
from tests.line_webhook_helpers import fixture_body, link_directly, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-for-ops-only"))
    return client


def test_a_failed_event_can_be_processed_again_from_the_admin(
    admin_client, company, django_capture_on_commit_callbacks
):
    link_directly(company)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(admin_client, company, fixture_body("postback")).status_code == 200
    event = LineWebhookEvent.objects.get()
    LineWebhookEvent.objects.filter(pk=event.pk).update(outcome="failed", detail="boom", attempts=10)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:line_integration_linewebhookevent_changelist"),
            {"action": "process_again", "_selected_action": [event.pk]},
            follow=True,
        )

    assert "1件のイベントを再処理します。" in response.content.decode()
    event.refresh_from_db()
    assert event.outcome == "ignored"
    assert event.processed_at is not None


def test_login_attempt_secrets_are_not_shown_in_the_admin(admin_client, company, candidate):
    issue_invitation(candidate, now=timezone.now())
    attempt = LineLoginAttempt.objects.create(
        company=company,
        invitation=FriendInvitation.objects.get(),
        state_hash="a" * 64,
        nonce="nonce-value-123",
        code_verifier="verifier-value-456",
        created_at=timezone.now(),
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    page = admin_client.get(reverse("admin:line_integration_lineloginattempt_change", args=[attempt.pk]))
    assert page.status_code == 200
    for secret in ("a" * 64, "nonce-value-123", "verifier-value-456"):
        assert secret not in page.content.decode()
    assert admin_client.get(reverse("admin:line_integration_lineloginattempt_add")).status_code == 403


def test_invitations_and_login_attempts_are_named_in_japan_time(admin_client, company, candidate):
    sent = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)  # 4月1日 00:30 in Tokyo
    issue_invitation(candidate, now=sent)
    invitation = FriendInvitation.objects.get()
    attempt = LineLoginAttempt.objects.create(
        company=company,
        invitation=invitation,
        state_hash="b" * 64,
        nonce="n",
        code_verifier="v",
        created_at=sent,
        expires_at=sent + timedelta(minutes=10),
    )

    assert str(invitation).endswith("(2026-04-08 00:30まで)")
    assert "2026-04-01 00:30" in str(attempt)
    page = admin_client.get(reverse("admin:line_integration_friendinvitation_changelist"))
    assert "2026-04-08 00:30まで" in page.content.decode()


def test_an_integration_is_read_by_company_without_creating_one(company, other_company):
    assert LineIntegration.objects.for_company_or_none(company) is None
    link_directly(company)

    assert LineIntegration.objects.for_company_or_none(company.pk).company_id == company.pk
    assert LineIntegration.objects.for_company_or_none(other_company) is None
    assert LineIntegration.objects.count() == 1
