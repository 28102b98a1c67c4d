import json

import pytest
import requests
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi
from linebot.v3.messaging.exceptions import UnauthorizedException
from linebot.v3.oauth import ApiException as OAuthApiException


def error_body(error: OAuthApiException) -> dict:
    return json.loads(error.body)


def test_short_lived_token_is_issued_and_verifies_for_its_channel(oauth, pair):
    issued = oauth.issue_channel_token("client_credentials", pair.messaging_channel_id, pair.messaging_channel_secret)
    assert issued.expires_in == 2592000
    assert issued.token_type == "Bearer"
    verified = oauth.verify_channel_token(issued.access_token)
    assert (verified.client_id, verified.scope) == (pair.messaging_channel_id, "P CM")


def test_short_lived_token_works_for_a_login_channel_too(oauth, pair):
    issued = oauth.issue_channel_token("client_credentials", pair.login_channel_id, pair.login_channel_secret)
    assert oauth.verify_channel_token(issued.access_token).client_id == pair.login_channel_id


def test_wrong_channel_id_is_invalid_client_id(oauth, pair):
    with pytest.raises(OAuthApiException) as caught:
        oauth.issue_channel_token("client_credentials", "1999999999", pair.messaging_channel_secret)
    assert caught.value.status == 400
    assert error_body(caught.value) == {"error": "invalid_client", "error_description": "invalid client_id"}


def test_wrong_secret_is_invalid_client_secret(oauth, pair):
    with pytest.raises(OAuthApiException) as caught:
        oauth.issue_channel_token("client_credentials", pair.messaging_channel_id, "0" * 32)
    assert error_body(caught.value) == {"error": "invalid_client", "error_description": "invalid client_secret"}


def test_missing_parameters_are_invalid_request(line_emulator, pair):
    response = requests.post(
        f"{line_emulator.base_url}/v2/oauth/accessToken", data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "some parameters missed or invalid"}


def test_stateless_token_lasts_15_minutes(line_emulator, oauth, pair):
    issued = oauth.issue_stateless_channel_token_by_client_secret(
        pair.messaging_channel_id, pair.messaging_channel_secret
    )
    assert issued.expires_in == 900
    with ApiClient(Configuration(host=line_emulator.base_url, access_token=issued.access_token)) as client:
        api = MessagingApi(client)
        assert api.get_bot_info().user_id == pair.bot_user_id
        line_emulator.advance_clock(901)
        with pytest.raises(UnauthorizedException):
            api.get_bot_info()


def test_stateless_token_with_wrong_secret_is_invalid_client_credentials(oauth, pair):
    with pytest.raises(OAuthApiException) as caught:
        oauth.issue_stateless_channel_token_by_client_secret(pair.messaging_channel_id, "0" * 32)
    assert caught.value.status == 400
    assert error_body(caught.value) == {
        "error": "invalid_request",
        "error_description": "Invalid 'client_credentials'.",
    }


def test_the_31st_short_lived_token_revokes_the_oldest(oauth, pair):
    issued = [
        oauth.issue_channel_token("client_credentials", pair.messaging_channel_id, pair.messaging_channel_secret)
        for _ in range(31)
    ]
    with pytest.raises(OAuthApiException) as caught:
        oauth.verify_channel_token(issued[0].access_token)
    assert error_body(caught.value) == {"error": "invalid_request", "error_description": "access_token invalid"}
    assert oauth.verify_channel_token(issued[1].access_token).client_id == pair.messaging_channel_id


def test_revoked_token_gets_401_with_lines_message(line_emulator, oauth, pair):
    issued = oauth.issue_channel_token("client_credentials", pair.messaging_channel_id, pair.messaging_channel_secret)
    oauth.revoke_channel_token(issued.access_token)
    configuration = Configuration(host=line_emulator.base_url, access_token=issued.access_token)
    with ApiClient(configuration) as client, pytest.raises(UnauthorizedException) as caught:
        MessagingApi(client).get_bot_info()
    assert json.loads(caught.value.body) == {
        "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
    }


def test_revoke_answers_200_with_an_empty_body_for_unknown_tokens(line_emulator):
    response = requests.post(f"{line_emulator.base_url}/v2/oauth/revoke", data={"access_token": "nope"})
    assert (response.status_code, response.content) == (200, b"")


def test_short_lived_token_expires_after_30_days(line_emulator, oauth, pair):
    issued = oauth.issue_channel_token("client_credentials", pair.messaging_channel_id, pair.messaging_channel_secret)
    line_emulator.advance_clock(30 * 24 * 3600 + 1)
    with pytest.raises(OAuthApiException):
        oauth.verify_channel_token(issued.access_token)
