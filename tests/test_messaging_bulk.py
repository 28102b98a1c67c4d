"""messaging.bulk: set-based inserts write what the ORM would write."""

import pytest
from django.db import connection
from django.utils import timezone

from hrmos.fields import EncryptedTextField
from line_integration.models import LineIntegration
from messaging import bulk

pytestmark = pytest.mark.django_db

SECRET = "0123456789abcdef0123456789abcdef"


def test_an_encrypted_text_field_is_encrypted_by_a_set_based_insert(company):
    assert isinstance(LineIntegration._meta.get_field("login_channel_secret"), EncryptedTextField)
    now = timezone.now()
    rows = bulk.Rows(
        LineIntegration,
        fixed={"company": company.pk, "login_channel_secret": SECRET, "created_at": now, "updated_at": now},
        per_row=("messaging_channel_secret",),
    )

    [pk] = bulk.insert_with_ids(rows, [rows.row(messaging_channel_secret=SECRET)])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT messaging_channel_secret, login_channel_secret FROM line_integration_lineintegration WHERE id = %s",
            [pk],
        )
        stored = cursor.fetchone()
    assert all(value.startswith("gAAAAA") and SECRET not in value for value in stored)
    integration = LineIntegration.objects.get(pk=pk)
    assert (integration.messaging_channel_secret, integration.login_channel_secret) == (SECRET, SECRET)
