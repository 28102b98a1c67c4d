"""Channel access tokens: stateless, cached in the row (encrypted) and per process, re-minted once on 401."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from line_integration.api import client, tokens
from line_integration.api.client import LineError, LineErrorKind
from line_integration.models import LineIntegration

pytestmark = pytest.mark.django_db


def stateless_tokens(line_emulator, pair) -> list[str]:
    return [t["access_token"] for t in line_emulator.tokens(pair.messaging_channel_id) if t["kind"] == "stateless"]


@pytest.fixture
def integration(linked_company) -> LineIntegration:
    tokens.forget_token(linked_company.line_integration)  # start like a fresh process
    return LineIntegration.objects.get(company=linked_company)


def test_linking_leaves_the_verification_token_as_the_channel_token(integration, line_emulator, line_pair):
    assert stateless_tokens(line_emulator, line_pair) == [integration.access_token]
    assert tokens.channel_token(integration) == integration.access_token
    assert tokens.channel_token(integration) == integration.access_token
    assert len(stateless_tokens(line_emulator, line_pair)) == 1  # never a token per call


def test_the_cached_token_is_encrypted_in_the_database(integration):
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM line_integration_lineintegration WHERE id = %s", [integration.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("gAAAAA")
    assert integration.access_token not in raw


def test_another_process_reuses_the_stored_token(integration, line_emulator, line_pair):
    first = tokens.channel_token(integration)
    tokens.forget_token(integration)  # another worker: no memo, its own copy of the row
    assert tokens.channel_token(LineIntegration.objects.get(pk=integration.pk)) == first
    assert len(stateless_tokens(line_emulator, line_pair)) == 1


def test_a_token_is_replaced_shortly_before_it_expires(integration, line_emulator, line_pair):
    first = tokens.channel_token(integration)
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        second = tokens.channel_token(LineIntegration.objects.get(pk=integration.pk))
    assert second != first
    assert LineIntegration.objects.get(pk=integration.pk).access_token == second
    assert len(stateless_tokens(line_emulator, line_pair)) == 2


def test_a_401_mints_a_new_token_once_and_retries(integration, line_emulator, line_pair):
    old = tokens.channel_token(integration)
    line_emulator.advance_clock(16 * 60)  # LINE's clock: our cached token has expired there
    bot = tokens.call_with_token(integration, client.get_bot_info)
    assert bot.user_id == line_pair.bot_user_id
    stored = LineIntegration.objects.get(pk=integration.pk).access_token
    assert stored != old
    assert stateless_tokens(line_emulator, line_pair) == [old, stored]


def test_a_second_401_is_raised_not_retried_forever(integration, line_emulator, line_pair):
    calls = []

    def always_rejected(token: str) -> client.BotInfo:
        calls.append(token)
        return client.get_bot_info("a-token-line-does-not-know")

    with pytest.raises(LineError) as caught:
        tokens.call_with_token(integration, always_rejected)
    assert caught.value.kind == LineErrorKind.UNAUTHORIZED
    assert len(calls) == 2
    assert calls[0] != calls[1]  # the retry got a freshly minted token


def test_a_401_reuses_a_token_another_process_already_replaced(integration, line_emulator, line_pair):
    old = tokens.channel_token(integration)
    line_emulator.advance_clock(16 * 60)
    # Another process hits the 401 first and stores a new token.
    other = LineIntegration.objects.get(pk=integration.pk)
    tokens.forget_token(other)
    tokens.call_with_token(other, client.get_bot_info)
    newer = LineIntegration.objects.get(pk=integration.pk).access_token
    # This process still holds the old one in memory: its 401 picks up the stored token, no third mint.
    tokens._memo[(integration.pk, integration.messaging_channel_id)] = (old, timezone.now() + timedelta(minutes=10))
    tokens.call_with_token(integration, client.get_bot_info)
    assert stateless_tokens(line_emulator, line_pair) == [old, newer]


def test_other_errors_are_not_retried(integration, line_emulator):
    line_emulator.fault("GET /v2/bot/info", "500")
    with pytest.raises(LineError) as caught:
        tokens.call_with_token(integration, client.get_bot_info)
    assert caught.value.kind == LineErrorKind.SERVER


def test_an_unlinked_company_has_no_token(company):
    with pytest.raises(tokens.IntegrationNotLinked):
        tokens.channel_token(LineIntegration(company=company))


def test_minting_with_a_reissued_secret_fails_permanently(integration, line_emulator):
    LineIntegration.objects.filter(pk=integration.pk).update(
        messaging_channel_secret="0" * 32, access_token="", access_token_expires_at=None
    )
    tokens.forget_token(integration)
    with pytest.raises(LineError) as caught:
        tokens.call_with_token(LineIntegration.objects.get(pk=integration.pk), client.get_bot_info)
    assert caught.value.kind == LineErrorKind.INVALID_CREDENTIALS
    assert caught.value.permanent
