"""EncryptedTextField: ciphertext at rest, fails closed on a wrong key, rotation by command."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection

from hrmos.fields import FieldDecryptionError
from line_integration.models import LineIntegration

pytestmark = pytest.mark.django_db

SECRET = "0123456789abcdef0123456789abcdef"
K1, K2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def raw_secret(integration: LineIntegration) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT messaging_channel_secret FROM line_integration_lineintegration WHERE id = %s", [integration.pk]
        )
        return cursor.fetchone()[0]


def store(company, secret: str = SECRET) -> LineIntegration:
    return LineIntegration.objects.create(
        company=company, messaging_channel_id="1234567890", messaging_channel_secret=secret
    )


def test_the_database_holds_fernet_ciphertext_not_the_secret(company):
    integration = store(company)
    raw = raw_secret(integration)
    assert raw.startswith("gAAAAA")
    assert SECRET not in raw
    assert LineIntegration.objects.get(pk=integration.pk).messaging_channel_secret == SECRET


def test_the_same_secret_encrypts_differently_each_time(company, other_company):
    assert raw_secret(store(company)) != raw_secret(store(other_company))


def test_queryset_update_encrypts_too(company):
    integration = store(company)
    LineIntegration.objects.filter(pk=integration.pk).update(messaging_channel_secret="f" * 32)
    assert "f" * 32 not in raw_secret(integration)
    assert LineIntegration.objects.get(pk=integration.pk).messaging_channel_secret == "f" * 32


def test_empty_means_unset_and_is_stored_as_is(company):
    integration = store(company, secret="")
    assert raw_secret(integration) == ""
    assert LineIntegration.objects.get(pk=integration.pk).messaging_channel_secret == ""


def test_a_wrong_key_raises_instead_of_returning_ciphertext(company, settings):
    integration = store(company)
    settings.FIELD_ENCRYPTION_KEYS = [K2]
    with pytest.raises(FieldDecryptionError, match="messaging_channel_secret"):
        LineIntegration.objects.get(pk=integration.pk)


def test_a_value_that_was_never_encrypted_raises(company):
    integration = store(company)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE line_integration_lineintegration SET messaging_channel_secret = %s WHERE id = %s",
            [SECRET, integration.pk],
        )
    with pytest.raises(FieldDecryptionError):
        LineIntegration.objects.get(pk=integration.pk)


def test_filtering_on_an_encrypted_field_is_refused(company):
    store(company)
    with pytest.raises(FieldError, match="encrypted"):
        LineIntegration.objects.filter(messaging_channel_secret=SECRET).count()
    assert LineIntegration.objects.filter(messaging_channel_secret__isnull=False).count() == 1


def test_rotation_reencrypts_with_the_newest_key(company, other_company, settings):
    settings.FIELD_ENCRYPTION_KEYS = [K1]
    first, second = store(company), store(other_company, secret="a" * 32)
    before = raw_secret(first)

    settings.FIELD_ENCRYPTION_KEYS = [K2, K1]
    call_command("rotate_field_encryption", batch_size=1, stdout=io.StringIO())

    settings.FIELD_ENCRYPTION_KEYS = [K2]  # the old key is gone: every row must read with the new one
    assert raw_secret(first) != before
    assert LineIntegration.objects.get(pk=first.pk).messaging_channel_secret == SECRET
    assert LineIntegration.objects.get(pk=second.pk).messaging_channel_secret == "a" * 32
    settings.FIELD_ENCRYPTION_KEYS = [K1]
    with pytest.raises(FieldDecryptionError):
        LineIntegration.objects.get(pk=first.pk)


def test_rotation_dry_run_changes_nothing(company, settings, capsys):
    settings.FIELD_ENCRYPTION_KEYS = [K1]
    integration = store(company)
    before = raw_secret(integration)
    settings.FIELD_ENCRYPTION_KEYS = [K2, K1]
    call_command("rotate_field_encryption", dry_run=True)
    assert raw_secret(integration) == before
    assert "1 value(s) would be re-encrypted" in capsys.readouterr().out


def test_rotation_stops_loudly_on_a_value_no_key_can_read(company, settings):
    settings.FIELD_ENCRYPTION_KEYS = [K1]
    store(company)
    settings.FIELD_ENCRYPTION_KEYS = [K2]
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_field_encryption")


@pytest.mark.parametrize("keys", [[], ["not-a-fernet-key"], [K1, K1]])
def test_the_system_check_refuses_missing_or_bad_keys(settings, keys):
    settings.FIELD_ENCRYPTION_KEYS = keys
    errors = [e for e in run_checks() if e.id and e.id.startswith("hrmos.E00")]
    assert errors
    assert "not-a-fernet-key" not in str(errors[0].msg)


def test_the_system_check_passes_with_good_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [K2, K1]
    assert not [e for e in run_checks() if e.id and e.id.startswith("hrmos.E00")]
