"""LINE Login v2.1 over plain HTTP: the authorize URL, the code exchange, the ID token, the
user's profile and friendship status (the endpoints are listed in docs/line.md).

line-bot-sdk has no LINE Login client, so these are `requests` calls, each with the client's
timeout (`client.http_timeout()`) and no retries (an authorization code is single use: a blind
retry could only fail). Base URLs come from `settings.LINE_ACCESS_BASE` (the browser-facing
authorize page) and `settings.LINE_API_BASE` (token, profile, friendship), read on every call
so tests and the emulator can point them anywhere.

The ID token of a web login is a JWT signed HS256 with the Login channel secret; it is
verified here, locally rather than through LINE's verify endpoint: signature, `iss`, `aud` =
the Login channel id, `exp`, and `nonce` (constant-time). Codes, tokens, verifiers and
secrets never reach a log line or an exception message; `LoginError` carries only the step and
LINE's error code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlencode

import jwt
import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from line_integration.api.client import http_timeout

logger = logging.getLogger(__name__)

ISSUER = "https://access.line.me"
AUTHORIZE_PATH = "/oauth2/v2.1/authorize"
TOKEN_PATH = "/oauth2/v2.1/token"  # noqa: S105 (a path, not a secret)
PROFILE_PATH = "/v2/profile"
FRIENDSHIP_PATH = "/friendship/v1/status"
SCOPE = "openid profile"
# LINE's clock and ours may differ by a little; an ID token lives for an hour or so.
CLOCK_LEEWAY_SECONDS = 60
USER_ID_RE = re.compile(r"U[0-9a-f]{32}")


class LoginStep(StrEnum):
    TOKEN = "token"  # noqa: S105 (POST /oauth2/v2.1/token)
    ID_TOKEN = "id_token"  # noqa: S105 (local verification of the ID token)
    PROFILE = "profile"  # GET /v2/profile
    FRIENDSHIP = "friendship"  # GET /friendship/v1/status


class LoginError(Exception):
    """A failed LINE Login step. `reason` is short and safe to store and log (no token, no code)."""

    def __init__(self, step: LoginStep, reason: str, *, status: int = 0) -> None:
        self.step = step
        self.reason = reason  # e.g. "invalid_grant", "aud", "nonce", "signature", "timeout"
        self.status = status  # HTTP status; 0 when no response arrived or for local checks
        super().__init__(f"LINE Login {step}: {reason}" + (f" (HTTP {status})" if status else ""))

    @property
    def code(self) -> str:
        """`step:reason`, as stored on the login attempt."""
        return f"{self.step}:{self.reason}"[:64]


# --- the values the authorize request binds ----------------------------------------------


def new_state() -> str:
    """Random and alphanumeric: LINE says `state` "cannot be a URL-encoded string"."""
    return secrets.token_hex(32)


def new_nonce() -> str:
    return secrets.token_hex(16)


def new_code_verifier() -> str:
    """A PKCE verifier: 86 characters of the unreserved set (43–128 are allowed)."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """S256, the only method LINE accepts."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def authorize_url(
    *,
    channel_id: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_challenge: str,
    bot_prompt: str = "aggressive",
    prompt: str = "consent",
) -> str:
    """Where the candidate's browser goes to log in (LINE's authorize page).

    `prompt=consent` shows the consent screen even to someone who consented before: without
    it a returning user is sent straight back and LINE never shows the add-friend screen that
    `bot_prompt=aggressive` asks for (a candidate who once declined could never add us here).
    """
    params = {
        "response_type": "code",
        "client_id": channel_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": SCOPE,
        "nonce": nonce,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "bot_prompt": bot_prompt,
        "prompt": prompt,
        "ui_locales": "ja",
    }
    # quote: spaces as %20 (LINE's examples: scope=openid%20profile), not quote_plus's "+".
    return f"{settings.LINE_ACCESS_BASE}{AUTHORIZE_PATH}?{urlencode(params, quote_via=quote)}"


# --- HTTP ----------------------------------------------------------------------------------


def _oauth_error(response: requests.Response) -> str:
    """LINE's `error` code (invalid_grant, invalid_client, …), never its description text."""
    try:
        body = response.json()
    except ValueError:
        return f"http_{response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str) and re.fullmatch(r"[A-Za-z0-9_]{1,40}", error):
        return error.lower()
    return f"http_{response.status_code}"


@sensitive_variables()
def _request(step: LoginStep, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    url = f"{settings.LINE_API_BASE}{path}"
    try:
        response = requests.request(method, url, timeout=http_timeout(), allow_redirects=False, **kwargs)
    except requests.Timeout as exc:
        raise _chain(step, "timeout", exc) from None
    except requests.RequestException as exc:
        raise _chain(step, "network", exc) from None
    if response.status_code != 200:
        raise LoginError(step, _oauth_error(response), status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        raise LoginError(step, "not_json", status=response.status_code) from None
    if not isinstance(body, dict):
        raise LoginError(step, "not_json", status=response.status_code)
    return body


def _chain(step: LoginStep, reason: str, exc: Exception) -> LoginError:
    # The exception's own text may hold the URL; keep only its type for the logs.
    logger.warning("LINE Login %s failed: %s", step, type(exc).__name__)
    return LoginError(step, reason)


@dataclass(frozen=True)
class Tokens:
    """The token endpoint's answer. Held in memory for the callback only, never stored."""

    access_token: str = field(repr=False)
    id_token: str = field(repr=False)
    scope: str = ""


@sensitive_variables()
def exchange_code(*, code: str, redirect_uri: str, channel_id: str, channel_secret: str, code_verifier: str) -> Tokens:
    """POST /oauth2/v2.1/token with the PKCE verifier. The code works once."""
    body = _request(
        LoginStep.TOKEN,
        "POST",
        TOKEN_PATH,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": channel_id,
            "client_secret": channel_secret,
            "code_verifier": code_verifier,
        },
    )
    access_token, id_token = body.get("access_token"), body.get("id_token")
    if not isinstance(access_token, str) or not access_token:
        raise LoginError(LoginStep.TOKEN, "no_access_token")
    if not isinstance(id_token, str) or not id_token:
        raise LoginError(LoginStep.TOKEN, "no_id_token")
    return Tokens(access_token=access_token, id_token=id_token, scope=str(body.get("scope", "")))


@dataclass(frozen=True)
class IdTokenClaims:
    user_id: str  # `sub`: the provider-scoped LINE userId
    name: str = ""
    picture: str = ""


@sensitive_variables()
def verify_id_token(id_token: str, *, channel_id: str, channel_secret: str, nonce: str) -> IdTokenClaims:
    """Verify a web-login ID token locally: HS256 with the Login channel secret,
    `iss`, `aud` = our Login channel id, `exp`, and the `nonce` we sent."""
    step = LoginStep.ID_TOKEN
    try:
        claims = jwt.decode(
            id_token,
            channel_secret,
            algorithms=["HS256"],  # never "none", never the alg the token names
            audience=channel_id,
            issuer=ISSUER,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidSignatureError:
        raise LoginError(step, "signature") from None
    except jwt.ExpiredSignatureError:
        raise LoginError(step, "expired") from None
    except jwt.InvalidAudienceError:
        raise LoginError(step, "aud") from None
    except jwt.InvalidIssuerError:
        raise LoginError(step, "iss") from None
    except jwt.MissingRequiredClaimError as exc:
        raise LoginError(step, f"missing_{exc.claim}") from None
    except jwt.InvalidTokenError:
        raise LoginError(step, "malformed") from None
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
        raise LoginError(step, "nonce")
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not USER_ID_RE.fullmatch(user_id):
        raise LoginError(step, "sub")
    return IdTokenClaims(user_id=user_id, name=str(claims.get("name") or ""), picture=str(claims.get("picture") or ""))


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str
    picture_url: str = ""


@sensitive_variables()
def get_profile(access_token: str) -> Profile:
    """GET /v2/profile with the user's access token."""
    body = _request(LoginStep.PROFILE, "GET", PROFILE_PATH, headers={"Authorization": f"Bearer {access_token}"})
    user_id = body.get("userId")
    if not isinstance(user_id, str) or not USER_ID_RE.fullmatch(user_id):
        raise LoginError(LoginStep.PROFILE, "user_id")
    return Profile(
        user_id=user_id,
        display_name=str(body.get("displayName") or ""),
        picture_url=str(body.get("pictureUrl") or ""),
    )


@sensitive_variables()
def get_friendship(access_token: str) -> bool:
    """GET /friendship/v1/status: has the user added the OA linked to the Login channel."""
    body = _request(LoginStep.FRIENDSHIP, "GET", FRIENDSHIP_PATH, headers={"Authorization": f"Bearer {access_token}"})
    flag = body.get("friendFlag")
    if not isinstance(flag, bool):
        raise LoginError(LoginStep.FRIENDSHIP, "no_flag")
    return flag
