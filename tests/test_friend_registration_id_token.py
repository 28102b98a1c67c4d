"""The ID token is verified locally (HS256 with the Login channel secret; iss, aud, exp, nonce).

LINE is faked at the HTTP boundary: a small stand-in for api.line.me forwards to the emulator
and rewrites the ID token of the token endpoint's answer; our code is never patched."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from urllib.parse import parse_qs

import pytest

from line_integration.models import FriendInvitation, LineAccount, LineLoginAttempt
from tests.friend_registration_support import (
    COMPLETE_TEXT,
    FAILURE_TEXT,
    CandidateBrowser,
    fake_line_api,
    invite,
    link_company,
    query_of,
    resign,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pair(live_server, settings, line_emulator, company, recruiter):
    settings.SITE_URL = live_server.url
    line_emulator.set_settings(follow_webhook_delay_ms=-50)
    return link_company(line_emulator, company, recruiter)


@pytest.fixture
def api(line_emulator, settings):
    with fake_line_api(line_emulator.base_url) as api:
        settings.LINE_API_BASE = api.url
        yield api


@pytest.fixture
def browser(line_emulator):
    browser = CandidateBrowser(line_emulator)
    yield browser
    browser.session.close()


def finish_with(api, browser, pair, candidate, tamper):
    api.tamper = tamper
    callback = browser.through_line(browser.press_login(invite(candidate)), pair.persona_id)
    return browser.back_to_app(callback)


def assert_refused(page, reason: str) -> None:
    assert page.status_code == 400 and FAILURE_TEXT in page.text
    assert "/line/friend/retry/" in page.text  # the same link may try again
    assert LineLoginAttempt.objects.get().failure_reason == reason
    assert not LineAccount.objects.exists()
    assert FriendInvitation.objects.get().used_at is None


def test_an_id_token_for_another_channel_is_refused(api, browser, pair, candidate):
    page = finish_with(api, browser, pair, candidate, lambda t: resign(t, pair.login_channel_secret, aud="1234567890"))

    assert_refused(page, "id_token:aud")


def test_an_id_token_with_another_nonce_is_refused(api, browser, pair, candidate):
    page = finish_with(api, browser, pair, candidate, lambda t: resign(t, pair.login_channel_secret, nonce="replayed"))

    assert_refused(page, "id_token:nonce")


def test_an_id_token_without_a_nonce_is_refused(api, browser, pair, candidate):
    def drop_nonce(token: str) -> str:
        import jwt

        claims = jwt.decode(token, options={"verify_signature": False})
        claims.pop("nonce")
        return jwt.encode(claims, pair.login_channel_secret, algorithm="HS256")

    assert_refused(finish_with(api, browser, pair, candidate, drop_nonce), "id_token:nonce")


def test_an_id_token_with_a_bad_signature_is_refused(api, browser, pair, candidate):
    page = finish_with(
        api, browser, pair, candidate, lambda t: resign(t, pair.login_channel_secret, key="0" * 32, name="攻撃者")
    )

    assert_refused(page, "id_token:signature")


def test_an_id_token_from_another_issuer_is_refused(api, browser, pair, candidate):
    page = finish_with(
        api, browser, pair, candidate, lambda t: resign(t, pair.login_channel_secret, iss="https://evil.example")
    )

    assert_refused(page, "id_token:iss")


def test_an_expired_id_token_is_refused(api, browser, pair, candidate):
    past = int(time.time()) - 3600
    page = finish_with(
        api, browser, pair, candidate, lambda t: resign(t, pair.login_channel_secret, iat=past - 3600, exp=past)
    )

    assert_refused(page, "id_token:expired")


def test_an_unsigned_id_token_is_refused(api, browser, pair, candidate):
    def unsigned(token: str) -> str:
        header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
        return f"{header}.{token.split('.')[1]}."

    assert_refused(finish_with(api, browser, pair, candidate, unsigned), "id_token:malformed")


def test_the_untouched_id_token_passes_through_the_stand_in(api, browser, pair, candidate):
    """Control: the stand-in itself changes nothing when it does not tamper."""
    page = finish_with(api, browser, pair, candidate, None)

    assert COMPLETE_TEXT in page.text
    assert LineAccount.objects.get().line_user_id == pair.user_id


def test_the_code_exchange_sends_the_pkce_verifier(api, browser, pair, candidate, company):
    authorize = browser.press_login(invite(candidate))
    browser.back_to_app(browser.through_line(authorize, pair.persona_id))

    [(_, _, body)] = [seen for seen in api.seen if seen[1] == "/oauth2/v2.1/token"]
    form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == pair.callback_url
    assert form["client_id"] == pair.login_channel_id
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query_of(authorize)["code_challenge"]
