"""Channel access token endpoints (LINE's channel access token API): short-lived, stateless, verify, revoke."""

import secrets
from datetime import timedelta

import jwt
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from line_emulator import ids, runtime
from line_emulator.http import (
    CHANNEL_TOKEN_KINDS,
    RATE_LIMITED,
    apply_fault,
    empty_ok,
    find_token,
    forget_tokens,
    json_response,
    line_error,
    oauth_error,
)
from line_emulator.models import AccessToken, Channel
from line_emulator.store import writing

SHORT_LIVED_SECONDS = 30 * 24 * 3600
STATELESS_SECONDS = 15 * 60
SHORT_LIVED_CAP = 30
# What /v2/oauth/verify reports for a long-lived token, which has no expiry.
LONG_LIVED_EXPIRES_IN = 3_138_007_490


def _token_response(token: AccessToken, expires_in: int) -> dict[str, object]:
    return {"access_token": token.token, "expires_in": expires_in, "token_type": "Bearer"}


@require_POST
def issue_short_lived(request: HttpRequest) -> HttpResponse:
    """POST /v2/oauth/accessToken: 30 days, at most 30 per channel; the 31st revokes the oldest."""
    form = request.POST
    client_id = form.get("client_id", "")
    mode = runtime.take_fault("POST /v2/oauth/accessToken", client_id or None)

    def issue() -> HttpResponse:
        if form.get("grant_type") != "client_credentials" or not client_id or not form.get("client_secret"):
            return oauth_error("invalid_request", "some parameters missed or invalid")
        channel = Channel.objects.filter(channel_id=client_id).first()
        if channel is None:
            return oauth_error("invalid_client", "invalid client_id")
        if not secrets.compare_digest(channel.secret, form["client_secret"]):
            return oauth_error("invalid_client", "invalid client_secret")
        if not runtime.take_token(channel.channel_id, "POST /v2/oauth/accessToken"):
            return line_error(429, RATE_LIMITED)
        now = runtime.now()
        with writing():
            live = AccessToken.objects.filter(
                channel=channel, kind=AccessToken.SHORT_LIVED, revoked=False, expires_at__gt=now
            ).order_by("issued_at", "pk")
            excess = live.count() - (SHORT_LIVED_CAP - 1)
            if excess > 0:
                oldest = list(live.values_list("pk", flat=True)[:excess])
                AccessToken.objects.filter(pk__in=oldest).update(revoked=True)
                forget_tokens()
            token = AccessToken.objects.create(
                token=ids.access_token(),
                kind=AccessToken.SHORT_LIVED,
                channel=channel,
                issued_at=now,
                expires_at=now + timedelta(seconds=SHORT_LIVED_SECONDS),
            )
        return json_response(_token_response(token, SHORT_LIVED_SECONDS))

    return apply_fault(request, mode, issue)


@require_POST
def issue_stateless(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/v3/token: 15 minutes, no cap, cannot be revoked."""
    form = request.POST
    mode = runtime.take_fault("POST /oauth2/v3/token", form.get("client_id") or None)

    def issue() -> HttpResponse:
        if form.get("grant_type") != "client_credentials":
            return oauth_error("invalid_request", "Invalid 'client_credentials'.")
        if form.get("client_assertion") or form.get("client_assertion_type"):
            # Assertion signing keys cannot be registered in the emulator.
            return line_error(404, "Cannot find channel key that satisfies the conditions")
        channel = Channel.objects.filter(channel_id=form.get("client_id", "")).first()
        if channel is None or not secrets.compare_digest(channel.secret, form.get("client_secret", "")):
            return oauth_error("invalid_request", "Invalid 'client_credentials'.")
        now = runtime.now()
        expires_at = now + timedelta(seconds=STATELESS_SECONDS)
        claims = {"iss": "https://api.line.me", "sub": channel.channel_id, "exp": expires_at, "jti": ids.opaque(12)}
        # A JWT like LINE's; the key is thrown away because only the emulator ever reads it back.
        value = jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256")
        with writing():
            token = AccessToken.objects.create(
                token=value, kind=AccessToken.STATELESS, channel=channel, issued_at=now, expires_at=expires_at
            )
        return json_response({"token_type": "Bearer", "access_token": token.token, "expires_in": STATELESS_SECONDS})

    return apply_fault(request, mode, issue)


def _expires_in(token: AccessToken) -> int:
    if token.expires_at is None:
        return LONG_LIVED_EXPIRES_IN
    return max(int((token.expires_at - runtime.now()).total_seconds()), 0)


@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """POST /v2/oauth/verify."""
    token = find_token(request.POST.get("access_token", ""), CHANNEL_TOKEN_KINDS)
    if token is None:
        return oauth_error("invalid_request", "access_token invalid")
    return json_response({"client_id": token.channel_id, "expires_in": _expires_in(token), "scope": "P CM"})


@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    """POST /v2/oauth/revoke: 200 with an empty body, known token or not."""
    value = request.POST.get("access_token", "")
    if not value or len(value) > 300 or any(char.isspace() for char in value):
        return oauth_error("invalid_request")
    with writing():
        # Stateless tokens cannot be revoked; they simply run out.
        AccessToken.objects.filter(token=value, kind__in=(AccessToken.SHORT_LIVED, AccessToken.LONG_LIVED)).update(
            revoked=True
        )
    forget_tokens()
    return empty_ok()
