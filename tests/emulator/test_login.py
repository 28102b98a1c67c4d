import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

import jwt
import pytest
import requests

from tests.line_emulator_fixtures import EmulatorLoginError, callback_params

CALLBACK = "http://testserver/line/callback/"


def authorize_url(base_url: str, client_id: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "state": "st4te",
        "scope": "profile openid",
        "nonce": "n0nce",
        "bot_prompt": "normal",
        **extra,
    }
    return f"{base_url}/oauth2/v2.1/authorize?{urlencode(params)}"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def exchange(base_url: str, pair, code: str, **extra: str) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": pair.login_channel_id,
        "client_secret": pair.login_channel_secret,
        **extra,
    }
    return requests.post(f"{base_url}/oauth2/v2.1/token", data=form)


@pytest.fixture
def pair(line_emulator):
    """A linked pair whose persona has never added the OA."""
    return line_emulator.create_linked_pair(callback_url=CALLBACK)


def login(line_emulator, pair, add_friend: bool = True, **extra: str) -> dict[str, str]:
    url = authorize_url(line_emulator.base_url, pair.login_channel_id, **extra)
    location = line_emulator.login_in_browserless(requests.Session(), url, pair.persona_id, add_friend=add_friend)
    assert location.startswith(CALLBACK)
    return callback_params(location)


def test_login_gives_a_code_that_exchanges_for_an_id_token_signed_with_the_channel_secret(line_emulator, pair):
    verifier, challenge = pkce()
    params = login(line_emulator, pair, code_challenge=challenge, code_challenge_method="S256")
    assert params["state"] == "st4te"
    assert params["friendship_status_changed"] == "true"
    response = exchange(line_emulator.base_url, pair, params["code"], code_verifier=verifier)
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 2592000, "profile openid")
    claims = jwt.decode(
        body["id_token"],
        pair.login_channel_secret,
        algorithms=["HS256"],
        audience=pair.login_channel_id,
        issuer="https://access.line.me",
    )
    assert claims["sub"] == pair.user_id  # same provider: the Messaging API's userId
    assert (claims["nonce"], claims["name"], claims["amr"]) == ("n0nce", "山田 花子", ["pwd"])


def test_adding_the_friend_during_login_makes_friend_flag_true(line_emulator, pair):
    params = login(line_emulator, pair)
    access_token = exchange(line_emulator.base_url, pair, params["code"]).json()["access_token"]
    headers = {"Authorization": f"Bearer {access_token}"}
    status = requests.get(f"{line_emulator.base_url}/friendship/v1/status", headers=headers)
    assert status.json() == {"friendFlag": True}
    assert line_emulator.user(pair.messaging_channel_id, pair.persona_id)["friend_state"] == "following"
    profile = requests.get(f"{line_emulator.base_url}/v2/profile", headers=headers).json()
    assert (profile["userId"], profile["displayName"]) == (pair.user_id, "山田 花子")


def test_leaving_the_toggle_off_reports_friendship_unchanged(line_emulator, pair):
    params = login(line_emulator, pair, add_friend=False)
    assert params["friendship_status_changed"] == "false"
    assert line_emulator.user(pair.messaging_channel_id, pair.persona_id)["friend_state"] == "none"


def test_aggressive_bot_prompt_shows_a_separate_add_friend_page(line_emulator, pair):
    session = requests.Session()
    url = authorize_url(line_emulator.base_url, pair.login_channel_id, bot_prompt="aggressive")
    location = line_emulator.login_in_browserless(session, url, pair.persona_id)
    assert callback_params(location)["friendship_status_changed"] == "true"
    assert line_emulator.user(pair.messaging_channel_id, pair.persona_id)["friend_state"] == "following"


def test_consent_is_skipped_on_the_next_login_so_friendship_status_changed_is_absent(line_emulator, pair):
    login(line_emulator, pair, add_friend=False)
    params = login(line_emulator, pair)
    assert "code" in params
    assert "friendship_status_changed" not in params


def test_prompt_consent_shows_the_consent_page_again(line_emulator, pair):
    login(line_emulator, pair, add_friend=False)
    assert login(line_emulator, pair, prompt="consent")["friendship_status_changed"] == "true"


def test_pkce_mismatch_is_invalid_grant(line_emulator, pair):
    _, challenge = pkce()
    params = login(line_emulator, pair, code_challenge=challenge, code_challenge_method="S256")
    response = exchange(line_emulator.base_url, pair, params["code"], code_verifier=secrets.token_urlsafe(48))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_code_works_only_once(line_emulator, pair):
    code = login(line_emulator, pair)["code"]
    assert exchange(line_emulator.base_url, pair, code).status_code == 200
    replay = exchange(line_emulator.base_url, pair, code)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")


def test_a_code_expires_after_ten_minutes(line_emulator, pair):
    code = login(line_emulator, pair)["code"]
    line_emulator.advance_clock(601)
    assert exchange(line_emulator.base_url, pair, code).json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client(line_emulator, pair):
    code = login(line_emulator, pair)["code"]
    response = exchange(line_emulator.base_url, pair, code, client_secret="0" * 32)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_client")


def test_unregistered_redirect_uri_shows_lines_400_page(line_emulator, pair):
    url = authorize_url(line_emulator.base_url, pair.login_channel_id, redirect_uri="http://evil.example/cb")
    response = requests.get(url, allow_redirects=False)
    assert response.status_code == 400
    assert "Invalid redirect_uri value. Check if it is registered in a LINE developers site." in response.text


def test_registered_redirect_uri_may_carry_extra_query_parameters(line_emulator, pair):
    url = authorize_url(line_emulator.base_url, pair.login_channel_id, redirect_uri=f"{CALLBACK}?tenant=1")
    location = line_emulator.login_in_browserless(requests.Session(), url, pair.persona_id)
    assert location.startswith(f"{CALLBACK}?tenant=1&code=")


def test_unknown_client_id_shows_the_400_page(line_emulator):
    response = requests.get(authorize_url(line_emulator.base_url, "1999999999"), allow_redirects=False)
    assert response.status_code == 400
    assert "Invalid redirect_uri value" in response.text


def test_developing_channel_shows_the_developer_role_400_page(line_emulator, pair):
    line_emulator.set_channel(pair.login_channel_id, status="developing")
    with pytest.raises(EmulatorLoginError) as caught:
        login(line_emulator, pair)
    assert caught.value.status == 400
    assert "This channel is now developing status. User need to have developer role." in caught.value.text


def test_developing_channel_lets_a_persona_with_a_role_in(line_emulator, pair):
    line_emulator.set_channel(pair.login_channel_id, status="developing", role_personas=[pair.persona_id])
    assert "code" in login(line_emulator, pair)


def test_cancel_redirects_with_access_denied_and_the_state(line_emulator, pair):
    url = authorize_url(line_emulator.base_url, pair.login_channel_id)
    location = line_emulator.login_in_browserless(requests.Session(), url, pair.persona_id, cancel=True)
    assert callback_params(location) == {
        "error": "ACCESS_DENIED",
        "error_description": "The resource owner denied the request.",
        "state": "st4te",
    }


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"state": ""}, "INVALID_REQUEST"),
        ({"scope": "email"}, "INVALID_SCOPE"),
        ({"response_type": "token"}, "UNSUPPORTED_RESPONSE_TYPE"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "INVALID_REQUEST"),
    ],
)
def test_bad_authorize_requests_redirect_back_with_an_error(line_emulator, pair, override, error):
    response = requests.get(
        authorize_url(line_emulator.base_url, pair.login_channel_id, **override), allow_redirects=False
    )
    assert response.status_code == 302
    assert callback_params(response.headers["Location"])["error"] == error


def test_prompt_none_without_a_line_session_is_login_required(line_emulator, pair):
    url = authorize_url(line_emulator.base_url, pair.login_channel_id, prompt="none")
    response = requests.get(url, allow_redirects=False)
    assert callback_params(response.headers["Location"])["error"] == "LOGIN_REQUIRED"


def test_verify_endpoint_checks_the_id_token_nonce(line_emulator, pair):
    id_token = exchange(line_emulator.base_url, pair, login(line_emulator, pair)["code"]).json()["id_token"]
    form = {"id_token": id_token, "client_id": pair.login_channel_id}
    verified = requests.post(f"{line_emulator.base_url}/oauth2/v2.1/verify", data={**form, "nonce": "n0nce"})
    assert verified.json()["sub"] == pair.user_id
    wrong = requests.post(f"{line_emulator.base_url}/oauth2/v2.1/verify", data={**form, "nonce": "other"})
    assert wrong.json() == {"error": "invalid_request", "error_description": "Invalid IdToken Nonce."}


def test_follow_webhook_can_be_made_to_arrive_before_the_redirect(line_emulator, pair, receiver):
    line_emulator.set_channel(pair.messaging_channel_id, webhook_url=receiver.url)
    line_emulator.set_settings(follow_webhook_delay_ms=-50)
    login(line_emulator, pair)
    assert len(receiver.received) == 1  # already there when the redirect came back
    assert b'"type":"follow"' in receiver.received[0].body


def test_follow_webhook_can_be_made_to_arrive_after_the_redirect(line_emulator, pair, receiver):
    line_emulator.set_channel(pair.messaging_channel_id, webhook_url=receiver.url)
    line_emulator.set_settings(follow_webhook_delay_ms=60_000)
    login(line_emulator, pair)
    assert receiver.received == []
    line_emulator.advance_clock(61)
    assert len(receiver.wait_for(1)) == 1


def test_a_negative_follow_delay_does_not_hold_the_redirect_when_no_webhook_is_set(line_emulator, pair):
    line_emulator.set_settings(follow_webhook_delay_ms=-50)
    started = time.monotonic()
    login(line_emulator, pair)
    assert time.monotonic() - started < 1.5
