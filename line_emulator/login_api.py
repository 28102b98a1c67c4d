"""LINE Login v2.1 server endpoints: token, verify, revoke, profile, friendship."""

import base64
import hashlib
import secrets
from datetime import timedelta
from typing import Any

import jwt
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from line_emulator import actions, ids, runtime
from line_emulator.channel_tokens import issue_stateless
from line_emulator.http import (
    AUTH_FAILED,
    bearer_token,
    empty_ok,
    find_token,
    forget_tokens,
    json_response,
    line_api,
    line_error,
    oauth_error,
    parse_json,
)
from line_emulator.models import AccessToken, AuthCode, Channel, Consent, Friendship, Persona
from line_emulator.store import writing

ISSUER = "https://access.line.me"
ACCESS_TOKEN_SECONDS = 30 * 24 * 3600
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
CODE_LIFETIME = timedelta(minutes=10)


def _client(form: Any) -> Channel | HttpResponse:
    """The Login channel the form's client credentials name, or the error to answer."""
    channel = Channel.objects.filter(channel_id=form.get("client_id", ""), kind=Channel.LOGIN).first()
    if channel is None:
        return oauth_error("invalid_client", "invalid client_id")
    if not secrets.compare_digest(channel.secret, form.get("client_secret", "")):
        return oauth_error("invalid_client", "invalid client_secret")
    return channel


def _pkce_ok(challenge: str, verifier: str) -> bool:
    if not challenge:
        return True
    if not 43 <= len(verifier) <= 128:
        return False
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return secrets.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge)


def id_token(code: AuthCode) -> str:
    persona, channel = code.persona, code.channel
    now = runtime.now()
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": actions.user_id_of(channel.provider, persona),
        "aud": channel.channel_id,
        "exp": int(now.timestamp()) + int(runtime.setting("id_token_lifetime_seconds")),
        "iat": int(now.timestamp()),
        "amr": [code.amr],
    }
    if code.auth_time is not None:
        claims["auth_time"] = int(code.auth_time.timestamp())
    if code.nonce:
        claims["nonce"] = code.nonce
    if "profile" in code.scopes:
        claims["name"] = persona.display_name
        if persona.picture_url:
            claims["picture"] = persona.picture_url
    if "email" in code.scopes and channel.email_permission and persona.email:
        claims["email"] = persona.email
    # Web login ID tokens are HS256 with the Login channel secret (not the ES256 of the SDKs).
    return jwt.encode(claims, channel.secret, algorithm="HS256", headers={"typ": "JWT"})


def _user_token(channel: Channel, code: AuthCode, refresh_token: str, refresh_expires_at: Any) -> AccessToken:
    now = runtime.now()
    return AccessToken.objects.create(
        token=ids.access_token(),
        kind=AccessToken.USER,
        channel=channel,
        persona=code.persona,
        scopes=code.scopes,
        issued_at=now,
        expires_at=now + timedelta(seconds=ACCESS_TOKEN_SECONDS),
        refresh_token=refresh_token,
        refresh_expires_at=refresh_expires_at,
    )


def _scope_text(scopes: list[str]) -> str:
    return " ".join(scope for scope in scopes if scope != "email")  # email never appears in scope


def _exchange_code(form: Any) -> HttpResponse:
    channel = _client(form)
    if isinstance(channel, HttpResponse):
        return channel
    with writing():
        code = AuthCode.objects.select_related("persona", "channel__provider").filter(code=form.get("code", "")).first()
        if (
            code is None
            or code.used
            or code.channel_id != channel.channel_id
            or runtime.now() - code.created_at > CODE_LIFETIME
        ):
            return oauth_error("invalid_grant", "invalid authorization code")
        if form.get("redirect_uri", "") != code.redirect_uri:
            return oauth_error("invalid_grant", "redirect_uri does not match")
        if not _pkce_ok(code.code_challenge, form.get("code_verifier", "")):
            return oauth_error("invalid_grant", "invalid code_verifier")
        code.used = True
        code.save(update_fields=["used"])
        token = _user_token(channel, code, ids.opaque(15), runtime.now() + REFRESH_TOKEN_LIFETIME)
    body: dict[str, Any] = {"access_token": token.token, "expires_in": ACCESS_TOKEN_SECONDS}
    if "openid" in code.scopes:
        body["id_token"] = id_token(code)
    body.update(refresh_token=token.refresh_token, scope=_scope_text(code.scopes), token_type="Bearer")  # noqa: S106
    return json_response(body)


def _refresh(form: Any) -> HttpResponse:
    channel = _client(form)
    if isinstance(channel, HttpResponse):
        return channel
    with writing():
        old = AccessToken.objects.filter(
            refresh_token=form.get("refresh_token", "") or None, channel=channel, kind=AccessToken.USER
        ).first()
        if old is None or old.refresh_expires_at is None or old.refresh_expires_at <= runtime.now():
            return oauth_error("invalid_grant", "invalid refresh token")
        refresh_token, refresh_expires_at = old.refresh_token, old.refresh_expires_at
        old.refresh_token = None
        old.save(update_fields=["refresh_token"])
        now = runtime.now()
        token = AccessToken.objects.create(
            token=ids.access_token(),
            kind=AccessToken.USER,
            channel=channel,
            persona=old.persona,
            scopes=old.scopes,
            issued_at=now,
            expires_at=now + timedelta(seconds=ACCESS_TOKEN_SECONDS),
            refresh_token=refresh_token,
            refresh_expires_at=refresh_expires_at,
        )
    return json_response(
        {
            "token_type": "Bearer",
            "scope": _scope_text(token.scopes),
            "access_token": token.token,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": token.refresh_token,
        }
    )


@require_POST
def token(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/v2.1/token, shared by LINE Login and channel tokens v2.1: dispatched by grant_type."""
    grant_type = request.POST.get("grant_type", "")
    if grant_type == "authorization_code":
        return _exchange_code(request.POST)
    if grant_type == "refresh_token":
        return _refresh(request.POST)
    if grant_type == "client_credentials":
        if request.POST.get("client_assertion"):
            return oauth_error("invalid_client", "Assertion signing keys cannot be registered in the emulator")
        return issue_stateless(request)
    return oauth_error("unsupported_grant_type", "unsupported grant_type")


def _any_token(value: str) -> AccessToken | None:
    return AccessToken.objects.select_related("channel").filter(token=value, revoked=False).first() if value else None


def _verify_access_token(value: str) -> HttpResponse:
    found = _any_token(value)
    if found is None:
        return oauth_error("invalid_request", "access token invalid")
    if found.expires_at is not None and found.expires_at <= runtime.now():
        return oauth_error("invalid_request", "access token expired")
    expires_in = int((found.expires_at - runtime.now()).total_seconds()) if found.expires_at else 3_138_007_490
    scope = " ".join(found.scopes) if found.kind == AccessToken.USER else "P CM"
    return json_response({"scope": scope, "client_id": found.channel_id, "expires_in": expires_in})


def _verify_id_token(form: Any) -> HttpResponse:
    def invalid(description: str) -> HttpResponse:
        return oauth_error("invalid_request", description)

    client_id = form.get("client_id", "")
    channel = Channel.objects.filter(channel_id=client_id, kind=Channel.LOGIN).first()
    if channel is None:
        return invalid("Invalid IdToken Audience.")
    try:
        options: jwt.types.Options = {
            "verify_exp": False,
            "verify_aud": False,
            "verify_iss": False,
            "verify_iat": False,
        }
        claims = jwt.decode(form.get("id_token", ""), channel.secret, algorithms=["HS256"], options=options)
    except jwt.PyJWTError:
        return invalid("Invalid IdToken.")
    if claims.get("iss") != ISSUER:
        return invalid("Invalid IdToken Issuer.")
    if int(claims.get("exp", 0)) <= runtime.now().timestamp():
        return invalid("IdToken expired.")
    if claims.get("aud") != client_id:
        return invalid("Invalid IdToken Audience.")
    if form.get("nonce") and claims.get("nonce") != form["nonce"]:
        return invalid("Invalid IdToken Nonce.")
    if form.get("user_id") and claims.get("sub") != form["user_id"]:
        return invalid("Invalid IdToken Subject Identifier.")
    return json_response(claims)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """GET ?access_token= verifies an access token; POST id_token=&client_id= verifies an ID token."""
    if request.method == "GET":
        return _verify_access_token(request.GET.get("access_token", ""))
    if "id_token" not in request.POST and "access_token" in request.POST:
        return _verify_access_token(request.POST["access_token"])
    return _verify_id_token(request.POST)


@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/v2.1/revoke: a user access token (or a channel token); 200 with an empty body."""
    form = request.POST
    if form.get("client_id") and form.get("client_secret"):
        channel = Channel.objects.filter(channel_id=form["client_id"]).first()
        if channel is not None and not secrets.compare_digest(channel.secret, form["client_secret"]):
            return oauth_error("invalid_client", "invalid client_secret")
    with writing():
        AccessToken.objects.filter(token=form.get("access_token", "")).exclude(kind=AccessToken.STATELESS).update(
            revoked=True
        )
    forget_tokens()
    return empty_ok()


def _user(request: HttpRequest, scope: str) -> tuple[AccessToken, Persona] | HttpResponse:
    """The request's user access token with `scope` and its persona, or the error to answer."""
    found = find_token(bearer_token(request), (AccessToken.USER,))
    if found is None or found.persona is None:  # a user token always has its persona
        return line_error(401, AUTH_FAILED)
    if scope not in found.scopes:
        return line_error(403, f"The access token does not have the {scope} scope")
    return found, found.persona


@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    """GET /v2/profile with a user access token (profile scope)."""
    found = _user(request, "profile")
    if isinstance(found, HttpResponse):
        return found
    token, persona = found
    body = {"userId": actions.user_id_of(token.channel.provider, persona), "displayName": persona.display_name}
    if persona.picture_url:
        body["pictureUrl"] = persona.picture_url
    if persona.status_message:
        body["statusMessage"] = persona.status_message
    return json_response(body)


@require_http_methods(["GET", "POST"])
def userinfo(request: HttpRequest) -> HttpResponse:
    found = _user(request, "openid")
    if isinstance(found, HttpResponse):
        return found
    token, persona = found
    body = {"sub": actions.user_id_of(token.channel.provider, persona)}
    if "profile" in token.scopes:
        body["name"] = persona.display_name
        if persona.picture_url:
            body["picture"] = persona.picture_url
    return json_response(body)


@require_GET
def friendship_status(request: HttpRequest) -> HttpResponse:
    """GET /friendship/v1/status: does the persona follow (and not block) the linked OA?"""
    found = _user(request, "profile")
    if isinstance(found, HttpResponse):
        return found
    token, persona = found
    oa = token.channel.linked_oa
    if oa is None:
        return line_error(400, "There is no LINE Official Account linked to this channel")
    return json_response({"friendFlag": actions.friend_state(oa, persona) == Friendship.FOLLOWING})


@require_POST
@line_api("POST /user/v1/deauthorize", messaging_only=False)
def deauthorize(request: HttpRequest, channel: Channel) -> HttpResponse:
    body, error = parse_json(request)
    if error:
        return error
    value = body.get("userAccessToken", "") if isinstance(body, dict) else ""
    user_token = find_token(value, (AccessToken.USER,))
    if user_token is None or user_token.channel_id != channel.channel_id:
        return line_error(400, "invalid token")
    with writing():
        Consent.objects.filter(channel=channel, persona=user_token.persona).delete()
        AccessToken.objects.filter(channel=channel, persona=user_token.persona, kind=AccessToken.USER).update(
            revoked=True
        )
    return HttpResponse(status=204)
