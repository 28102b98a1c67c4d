"""A FIELD_ENCRYPTION_KEYS that cannot read the stored secrets (a rotation that dropped the old
key): the LINE pages say what is wrong and how to recover, never a 500."""

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from line_integration.models import LineIntegration
from tests.line_webhook_helpers import link_directly

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_lost(company, settings):
    link_directly(company)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]


def test_the_settings_page_explains_the_key_and_both_ways_back(recruiter_client, key_lost):
    response = recruiter_client.get(reverse("line:settings"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "保存されているLINEのシークレットを読み取れません" in text
    assert "rotate_field_encryption" in text and "シークレットを消去して入力し直す" in text


def test_the_quota_widgets_say_the_secrets_cannot_be_read(recruiter_client, key_lost):
    quota = recruiter_client.get(reverse("line:quota"))
    assert quota.status_code == 200 and "シークレットを読み取れない" in quota.content.decode()
    guard = recruiter_client.get(reverse("messaging:quota_guard"), {"n": "3"})
    assert guard.status_code == 200 and "シークレットを読み取れない" in guard.content.decode()


def test_forgetting_the_secrets_brings_the_page_back_to_enter_them_again(recruiter_client, company, key_lost):
    response = recruiter_client.post(reverse("line:forget_secrets"), follow=True)
    text = response.content.decode()
    assert "読み取れなくなったシークレットを消去しました。" in text and "連携中" in text
    integration = LineIntegration.objects.get(company=company)
    assert integration.messaging_channel_secret == "" and integration.bot_user_id  # the channel stays
