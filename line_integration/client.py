"""The one door to LINE: every Messaging API and channel-token call the app makes.

This is the only module that imports `linebot` (ruff TID251 bans it elsewhere). Each public
function is one LINE call: typed arguments in, a small frozen dataclass out, or `LineError`.

How it talks:
- Base URLs come from `LINE_API_BASE` (Messaging API and channel tokens) and
  `LINE_API_DATA_BASE` (content, through a `MessagingApiBlob` client of its own: a `host` set
  on a Configuration applies to every call of that client, blob included). They are read on
  every call, so tests and the emulator can point them anywhere.
- Every call passes `_request_timeout=(connect, read)`; the SDK's sync client has none.
  `settings.LINE_HTTP_TIMEOUT` / `LINE_CONTENT_TIMEOUT` override the defaults below.
- urllib3's own retries are off (`Configuration.retries = False`) for every call. Only our
  code retries, and a push is retried only with its `X-Line-Retry-Key`.
- One SDK client per (process, host) is reused so connections are pooled; the channel access
  token is passed per call (`_request_auth`), never baked into a shared client.
- Tokens and secrets are never logged: the SDK's DEBUG logging (which prints response bodies,
  i.e. issued tokens) is capped at INFO, dataclasses hide tokens from `repr`, and the functions
  that handle them are `@sensitive_variables()` so error reports show no locals below them.

Errors: every failure is a `LineError` with `kind`, `permanent`, LINE's `message` and
`details` as readable text, and the request ids. The two 429s are told apart by LINE's message
text: "You have reached your monthly limit." is `quota_exhausted` (permanent until next
month); the rate limit is `rate_limited` (transient). 5xx, timeouts and connection errors are
transient. See LINE_PLATFORM.md §1.3–1.10 and RELIABILITY.md §1.5.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import urllib3
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    ErrorResponse,
    MessagingApi,
    MessagingApiBlob,
    PushMessageRequest,
    SetWebhookEndpointRequest,
    TestWebhookEndpointRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.oauth import ApiClient as OAuthApiClient
from linebot.v3.oauth import ChannelAccessToken
from linebot.v3.oauth import Configuration as OAuthConfiguration
from linebot.v3.oauth import ErrorResponse as OAuthErrorResponse
from linebot.v3.oauth.exceptions import ApiException as OAuthApiException

# At DEBUG the SDK logs whole response bodies, and a token response body *is* the token. Its
# Configuration keeps its own loggers at WARNING unless `debug` is set (never do); this cap
# also holds for a LOG_LEVEL=DEBUG deployment that configures loggers by hand.
logging.getLogger("linebot").setLevel(logging.INFO)

DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
CONTENT_TIMEOUT: tuple[float, float] = (3.05, 30.0)
MAX_MESSAGES_PER_REQUEST = 5
MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."


# --- errors -------------------------------------------------------------------------------


class LineErrorKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429 rate limit (or too many messages to one user): back off
    QUOTA_EXHAUSTED = "quota_exhausted"  # 429 monthly limit: permanent until next month
    UNAUTHORIZED = "unauthorized"  # 401: token invalid or expired (re-mint once, see tokens.py)
    INVALID_CREDENTIALS = "invalid_credentials"  # 400 from the token endpoints: wrong channel id or secret
    FORBIDDEN = "forbidden"  # 403: plan or permission
    INVALID = "invalid"  # other 4xx: the request is wrong; LINE's details say why
    NOT_FOUND = "not_found"  # 404
    GONE = "gone"  # 410: content unsent by the user or expired
    PREPARING = "preparing"  # 202 from get content: not ready yet, try later
    CONFLICT = "conflict"  # 409: this retry key was already accepted
    SERVER = "server"  # 5xx (and 408): LINE had a problem; retry
    NETWORK = "network"  # timeout, refused or reset connection, TLS failure; retry


TRANSIENT_KINDS = frozenset(
    {LineErrorKind.RATE_LIMITED, LineErrorKind.PREPARING, LineErrorKind.SERVER, LineErrorKind.NETWORK}
)


class LineError(Exception):
    """A failed LINE call. `permanent` means retrying the same request cannot help."""

    def __init__(
        self,
        *,
        kind: LineErrorKind,
        status: int,
        message: str,
        details: Sequence[str] = (),
        request_id: str = "",
        accepted_request_id: str = "",
        sent_message_ids: Sequence[str] = (),
        error_code: str = "",
    ) -> None:
        self.kind = LineErrorKind(kind)
        self.status = status  # HTTP status; 0 when no response arrived
        self.message = message  # LINE's own message (or error_description for token calls)
        self.details = list(details)  # "property: message" strings
        self.permanent = self.kind not in TRANSIENT_KINDS
        self.request_id = request_id  # x-line-request-id
        self.accepted_request_id = accepted_request_id  # 409 only: the request that was accepted
        self.sent_message_ids = list(sent_message_ids)  # 409 on push only: the accepted messages
        self.error_code = error_code  # OAuth "error" field of the token endpoints (invalid_client, …)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "no response"
        text = f"LINE {self.kind} ({where}): {self.message}"
        if self.details:
            text += " [" + "; ".join(self.details) + "]"
        return text

    def __reduce__(self) -> tuple:
        return (_rebuild_line_error, (self.__dict__.copy(),))

    @property
    def transient(self) -> bool:
        return not self.permanent


def _rebuild_line_error(state: dict[str, Any]) -> LineError:
    state = {k: v for k, v in state.items() if k != "permanent"}
    return LineError(**state)


def _classify(status: int, message: str, *, token_endpoint: bool) -> LineErrorKind:
    if status == 429:
        # The two 429s differ only in their text (LINE_PLATFORM.md §1.4).
        if "monthly limit" in message.lower():
            return LineErrorKind.QUOTA_EXHAUSTED
        return LineErrorKind.RATE_LIMITED
    if status >= 500 or status == 408:
        return LineErrorKind.SERVER
    return {
        401: LineErrorKind.UNAUTHORIZED,
        403: LineErrorKind.FORBIDDEN,
        404: LineErrorKind.NOT_FOUND,
        409: LineErrorKind.CONFLICT,
        410: LineErrorKind.GONE,
    }.get(status, LineErrorKind.INVALID_CREDENTIALS if token_endpoint and status == 400 else LineErrorKind.INVALID)


def _header(headers: Any, name: str) -> str:
    if not headers:
        return ""
    return str(headers.get(name) or "")


def _text_body(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        return bytes(body).decode("utf-8", errors="replace")
    return str(body)


def _error_from_messaging(exc: ApiException) -> LineError:
    body = _text_body(exc.body)
    message, details, sent_ids = "", [], []
    try:
        parsed = ErrorResponse.from_json(body)
        message = parsed.message
        details = [f"{d.var_property}: {d.message}" if d.var_property else str(d.message) for d in parsed.details or []]
        sent_ids = [m.id for m in parsed.sent_messages or []]
    except (ValueError, TypeError):
        # Not LINE's JSON (a proxy's HTML page, an empty body): keep a short readable excerpt.
        message = body.strip()[:200] or (exc.reason or "")
    status = exc.status or 0
    if status == 0:
        return LineError(kind=LineErrorKind.NETWORK, status=0, message=str(exc.reason or "connection failed"))
    return LineError(
        kind=_classify(status, message, token_endpoint=False),
        status=status,
        message=message,
        details=details,
        request_id=_header(exc.headers, "x-line-request-id"),
        accepted_request_id=_header(exc.headers, "x-line-accepted-request-id"),
        sent_message_ids=sent_ids,
    )


def _error_from_oauth(exc: OAuthApiException) -> LineError:
    body = _text_body(exc.body)
    message, error_code = "", ""
    try:
        parsed = OAuthErrorResponse.from_json(body)
        error_code = parsed.error or ""
        message = parsed.error_description or parsed.error or ""
    except (ValueError, TypeError):
        pass
    if not message:
        # Some token errors use the Messaging API shape {"message": …}; others have no JSON.
        try:
            message = str(json.loads(body).get("message") or "")
        except (ValueError, TypeError, AttributeError):
            message = body.strip()[:200]
    status = exc.status or 0
    if status == 0:
        return LineError(kind=LineErrorKind.NETWORK, status=0, message=str(exc.reason or "connection failed"))
    return LineError(
        kind=_classify(status, message, token_endpoint=True),
        status=status,
        message=message or str(exc.reason or ""),
        request_id=_header(exc.headers, "x-line-request-id"),
        error_code=error_code,
    )


@contextlib.contextmanager
def _line_errors() -> Iterator[None]:
    """Turn whatever the SDK or urllib3 raises into one LineError."""
    try:
        yield
    except OAuthApiException as exc:
        raise _error_from_oauth(exc) from exc
    except ApiException as exc:
        raise _error_from_messaging(exc) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # Timeouts, refused or reset connections, TLS failures. The text names host and port only.
        raise LineError(kind=LineErrorKind.NETWORK, status=0, message=f"{type(exc).__name__}: {exc}"[:300]) from exc


# --- SDK clients --------------------------------------------------------------------------

_clients: dict[tuple[int, str, str], Any] = {}
_clients_lock = threading.Lock()


def _shared(kind: str, host: str) -> Any:
    """One SDK API object per (process, kind, host): pooled connections, no token inside."""
    key = (os.getpid(), kind, host)  # a forked worker must not share its parent's sockets
    api = _clients.get(key)
    if api is not None:
        return api
    with _clients_lock:
        api = _clients.get(key)
        if api is None:
            if kind == "oauth":
                config = OAuthConfiguration(host=host)
                config.retries = False
                config.connection_pool_maxsize = 16
                api = ChannelAccessToken(OAuthApiClient(config))
            else:
                # The ApiClient insists on a token; the real one goes with each call (_auth()).
                config = Configuration(host=host, access_token="-")  # noqa: S106 (a placeholder)
                config.retries = False
                config.connection_pool_maxsize = 16
                api_client = ApiClient(config)
                api = MessagingApiBlob(api_client) if kind == "blob" else MessagingApi(api_client)
            _clients[key] = api
    return api


def _oauth() -> ChannelAccessToken:
    return _shared("oauth", settings.LINE_API_BASE)


def _messaging() -> MessagingApi:
    return _shared("messaging", settings.LINE_API_BASE)


def _blob() -> MessagingApiBlob:
    return _shared("blob", settings.LINE_API_DATA_BASE)


def _auth(token: str) -> dict[str, str]:
    return {"in": "header", "type": "bearer", "key": "Authorization", "value": f"Bearer {token}"}


def _timeout() -> tuple[float, float]:
    return tuple(getattr(settings, "LINE_HTTP_TIMEOUT", DEFAULT_TIMEOUT))  # type: ignore[return-value]


def _content_timeout() -> tuple[float, float]:
    return tuple(getattr(settings, "LINE_CONTENT_TIMEOUT", CONTENT_TIMEOUT))  # type: ignore[return-value]


def _request_id(headers: Any) -> str:
    return _header(headers, "x-line-request-id")


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    access_token: str = field(repr=False)
    expires_in: int  # seconds


@dataclass(frozen=True)
class BotInfo:
    user_id: str  # equals the webhook `destination`
    basic_id: str
    display_name: str
    picture_url: str
    chat_mode: str  # "chat" (chat ON in OA Manager) or "bot" (chat OFF)
    mark_as_read_mode: str
    premium_id: str


@dataclass(frozen=True)
class WebhookEndpoint:
    endpoint: str
    active: bool  # the console's "Use webhook" switch


@dataclass(frozen=True)
class WebhookTestResult:
    success: bool
    status_code: int  # the webhook's answer; 0 or negative when none arrived
    reason: str  # OK | COULD_NOT_CONNECT | REQUEST_TIMEOUT | ERROR_STATUS_CODE | UNCLASSIFIED
    detail: str
    timestamp: datetime | None


@dataclass(frozen=True)
class Quota:
    type: str  # "none" (no monthly limit) or "limited"
    value: int | None  # the monthly target limit when limited

    @property
    def unlimited(self) -> bool:
        return self.type == "none"


@dataclass(frozen=True)
class PushResult:
    request_id: str
    sent_message_ids: list[str]
    already_accepted: bool = False  # a 409: an earlier attempt with this retry key was accepted
    accepted_request_id: str = ""  # that earlier attempt's request id (409 only)


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str
    picture_url: str
    status_message: str
    language: str


@dataclass(frozen=True)
class MessageContent:
    data: bytes = field(repr=False)
    content_type: str


# --- channel access tokens ----------------------------------------------------------------


@sensitive_variables()
def issue_stateless_token(channel_id: str, channel_secret: str) -> IssuedToken:
    """Issue a stateless channel access token (15 minutes, unlimited count, cannot be revoked).

    https://developers.line.biz/en/reference/messaging-api/#issue-stateless-channel-access-token
    A wrong channel id or secret raises LineError(kind=invalid_credentials).
    """
    with _line_errors():
        response = _oauth().issue_stateless_channel_token_by_client_secret(
            client_id=channel_id, client_secret=channel_secret, _request_timeout=_timeout()
        )
    return IssuedToken(access_token=response.access_token, expires_in=response.expires_in)


@sensitive_variables()
def issue_short_lived_token(channel_id: str, channel_secret: str) -> IssuedToken:
    """Issue a short-lived channel access token (30 days; at most 30 per channel, the oldest
    is revoked beyond that). Works for LINE Login channels too, so it checks a Login pair.

    https://developers.line.biz/en/reference/messaging-api/#issue-shortlived-channel-access-token
    """
    with _line_errors():
        response = _oauth().issue_channel_token(
            grant_type="client_credentials",
            client_id=channel_id,
            client_secret=channel_secret,
            _request_timeout=_timeout(),
        )
    return IssuedToken(access_token=response.access_token, expires_in=response.expires_in)


@sensitive_variables()
def revoke_short_lived_token(access_token: str) -> None:
    """Revoke a short-lived (or long-lived) channel access token. 200 even for unknown tokens.

    https://developers.line.biz/en/reference/messaging-api/#revoke-longlived-or-shortlived-channel-access-token
    """
    with _line_errors():
        _oauth().revoke_channel_token(access_token=access_token, _request_timeout=_timeout())


# --- Messaging API ------------------------------------------------------------------------


@sensitive_variables()
def get_bot_info(token: str) -> BotInfo:
    """The Official Account behind the token: userId (= webhook destination), basic id, name.

    https://developers.line.biz/en/reference/messaging-api/#get-bot-info
    A LINE Login channel's token is refused here, which is how swapped channels show up.
    """
    with _line_errors():
        info = _messaging().get_bot_info(_request_timeout=_timeout(), _request_auth=_auth(token))
    return BotInfo(
        user_id=info.user_id,
        basic_id=info.basic_id,
        display_name=info.display_name,
        picture_url=info.picture_url or "",
        chat_mode=info.chat_mode or "",
        mark_as_read_mode=info.mark_as_read_mode or "",
        premium_id=info.premium_id or "",
    )


@sensitive_variables()
def set_webhook_endpoint(token: str, endpoint: str) -> None:
    """Set the channel's webhook URL (HTTPS, at most 500 characters; applies within a minute).

    https://developers.line.biz/en/reference/messaging-api/#set-webhook-endpoint-url
    """
    with _line_errors():
        _messaging().set_webhook_endpoint(
            SetWebhookEndpointRequest(endpoint=endpoint), _request_timeout=_timeout(), _request_auth=_auth(token)
        )


@sensitive_variables()
def get_webhook_endpoint(token: str) -> WebhookEndpoint:
    """The webhook URL and whether "Use webhook" is on. No URL set → LineError(not_found).

    https://developers.line.biz/en/reference/messaging-api/#get-webhook-endpoint-information
    """
    with _line_errors():
        info = _messaging().get_webhook_endpoint(_request_timeout=_timeout(), _request_auth=_auth(token))
    return WebhookEndpoint(endpoint=info.endpoint, active=bool(info.active))


@sensitive_variables()
def run_webhook_test(token: str, endpoint: str | None = None) -> WebhookTestResult:
    """Ask LINE to send an empty-events webhook to the configured (or given) URL now.

    https://developers.line.biz/en/reference/messaging-api/#test-webhook-endpoint
    Rate limit: 60 per hour. A failed delivery is a normal result (success=False), not an error.
    """
    request = TestWebhookEndpointRequest(endpoint=endpoint) if endpoint else TestWebhookEndpointRequest()
    with _line_errors():
        result = _messaging().test_webhook_endpoint(request, _request_timeout=_timeout(), _request_auth=_auth(token))
    return WebhookTestResult(
        success=bool(result.success),
        status_code=result.status_code,
        reason=result.reason,
        detail=result.detail,
        timestamp=result.timestamp,
    )


@sensitive_variables()
def get_quota(token: str) -> Quota:
    """This month's message quota: type "none" (no limit) or "limited" with the value.

    https://developers.line.biz/en/reference/messaging-api/#get-quota
    """
    with _line_errors():
        quota = _messaging().get_message_quota(_request_timeout=_timeout(), _request_auth=_auth(token))
    quota_type = getattr(quota.type, "value", quota.type)  # an SDK enum
    return Quota(type=str(quota_type), value=quota.value)


@sensitive_variables()
def get_quota_consumption(token: str) -> int:
    """Messages sent this month (approximate; includes OA Manager sends).

    https://developers.line.biz/en/reference/messaging-api/#get-consumption
    """
    with _line_errors():
        consumption = _messaging().get_message_quota_consumption(
            _request_timeout=_timeout(), _request_auth=_auth(token)
        )
    return int(consumption.total_usage)


@sensitive_variables()
def push_text_messages(
    token: str,
    to: str,
    texts: Sequence[str],
    retry_key: UUID | str,
    *,
    notification_disabled: bool = False,
) -> PushResult:
    """Push 1–5 text messages to one user, idempotently under `retry_key`.

    https://developers.line.biz/en/reference/messaging-api/#send-push-message
    https://developers.line.biz/en/reference/messaging-api/#retry-api-request
    Send the same key and the same texts on every attempt. A 409 (this key was accepted
    before) is not an error: it returns the original `sentMessages` with already_accepted=True.
    LINE answers 200 even when the user blocked the OA; a 200 does not prove delivery.
    """
    if not 1 <= len(texts) <= MAX_MESSAGES_PER_REQUEST:
        raise ValueError(f"a push carries 1 to {MAX_MESSAGES_PER_REQUEST} messages, not {len(texts)}")
    request = PushMessageRequest(
        to=to,
        messages=[TextMessage(text=text) for text in texts],
        notification_disabled=notification_disabled,
    )
    try:
        with _line_errors():
            response = _messaging().push_message_with_http_info(
                request,
                x_line_retry_key=str(retry_key),
                _request_timeout=_timeout(),
                _request_auth=_auth(token),
            )
    except LineError as exc:
        if exc.kind != LineErrorKind.CONFLICT:
            raise
        return PushResult(
            request_id=exc.request_id,
            sent_message_ids=exc.sent_message_ids,
            already_accepted=True,
            accepted_request_id=exc.accepted_request_id,
        )
    return PushResult(
        request_id=_request_id(response.headers),
        sent_message_ids=[message.id for message in response.data.sent_messages],
    )


@sensitive_variables()
def get_profile(token: str, user_id: str) -> Profile:
    """A friend's profile. Not a friend, blocked or unknown → LineError(not_found).

    https://developers.line.biz/en/reference/messaging-api/#get-profile
    """
    with _line_errors():
        profile = _messaging().get_profile(user_id, _request_timeout=_timeout(), _request_auth=_auth(token))
    return Profile(
        user_id=profile.user_id,
        display_name=profile.display_name,
        picture_url=profile.picture_url or "",
        status_message=profile.status_message or "",
        language=profile.language or "",
    )


@sensitive_variables()
def get_message_content(token: str, message_id: str) -> MessageContent:
    """Download an image, video, audio or file a user sent (from the data host).

    https://developers.line.biz/en/reference/messaging-api/#get-content
    202 (still being prepared) → LineError(preparing, transient); 404 → not_found;
    410 (unsent by the user, or past retention) → gone. Download right after the webhook.
    """
    with _line_errors():
        response = _blob().get_message_content_with_http_info(
            message_id, _request_timeout=_content_timeout(), _request_auth=_auth(token)
        )
    if response.status_code == 202:
        raise LineError(
            kind=LineErrorKind.PREPARING,
            status=202,
            message="The content is still being prepared.",
            request_id=_request_id(response.headers),
        )
    content_type = _header(response.headers, "content-type") or "application/octet-stream"
    return MessageContent(data=bytes(response.data or b""), content_type=content_type)
