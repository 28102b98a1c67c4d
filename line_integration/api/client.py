"""The one door to LINE: every Messaging API and channel-token call the app makes.

This module and `client_errors.py` (what a failure becomes) are the only ones that import
`linebot` (ruff TID251 bans it outside line_integration). Each public function is one LINE
call: typed arguments in, a small frozen dataclass out, or `LineError`.

How it talks:
- Base URLs come from `LINE_API_BASE` (Messaging API and channel tokens) and
  `LINE_API_DATA_BASE` (content). They are read on every call, so tests and the emulator can
  point them anywhere.
- Every call has a timeout `(connect, read)`; the SDK's sync client has none.
  `settings.LINE_HTTP_TIMEOUT` / `LINE_CONTENT_TIMEOUT` override the defaults below, and
  `http_timeout()` is shared with LINE Login (login.py).
- urllib3's own retries are off for every call. Only our code retries, and a push is retried
  only with its `X-Line-Retry-Key`.
- One SDK client per (process, host) is reused so connections are pooled; the channel access
  token is passed per call (`_request_auth`), never baked into a shared client.
- Content is streamed to a file with a size cap and an overall deadline, through urllib3
  directly: the SDK's blob client reads the whole body into memory (even with
  `_preload_content=False`).
- Tokens and secrets are never logged: the SDK's DEBUG logging (which prints response bodies,
  i.e. issued tokens) is capped at INFO, dataclasses hide tokens from `repr`, and the functions
  that handle them are `@sensitive_variables()` so error reports show no locals below them.

Errors: see `client_errors.py`; `LineError` and `LineErrorKind` are imported from here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from urllib.parse import quote
from uuid import UUID

import urllib3
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    SetWebhookEndpointRequest,
    TestWebhookEndpointRequest,
    TextMessage,
)
from linebot.v3.oauth import ApiClient as OAuthApiClient
from linebot.v3.oauth import ChannelAccessToken
from linebot.v3.oauth import Configuration as OAuthConfiguration

from line_integration.api.errors import MONTHLY_LIMIT_MESSAGE as MONTHLY_LIMIT_MESSAGE
from line_integration.api.errors import LineError as LineError
from line_integration.api.errors import LineErrorKind as LineErrorKind
from line_integration.api.errors import error_from_response, header, line_errors

# At DEBUG the SDK logs whole response bodies, and a token response body *is* the token. Its
# Configuration keeps its own loggers at WARNING unless `debug` is set (never do); this cap
# also holds for a LOG_LEVEL=DEBUG deployment that configures loggers by hand.
logging.getLogger("linebot").setLevel(logging.INFO)

CONTENT_DEADLINE_SECONDS = 120.0  # a whole download; a slower one is abandoned and retried later
CONTENT_CHUNK_BYTES = 64 * 1024
MAX_MESSAGES_PER_REQUEST = 5


def http_timeout() -> tuple[float, float]:
    """(connect, read) seconds for a LINE API call (Messaging API, tokens, LINE Login)."""
    connect, read = settings.LINE_HTTP_TIMEOUT
    return (connect, read)


def content_timeout() -> tuple[float, float]:
    """(connect, read) seconds for a content download; the read timeout is per chunk, not per file."""
    connect, read = settings.LINE_CONTENT_TIMEOUT
    return (connect, read)


# --- SDK clients --------------------------------------------------------------------------

_clients: dict[tuple[int, str, str], Any] = {}
_clients_lock = threading.Lock()


def _shared(kind: str, host: str) -> Any:
    """One SDK API object (or urllib3 pool, for content) per (process, kind, host): pooled
    connections, no token inside."""
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
            elif kind == "content":
                api = urllib3.PoolManager(maxsize=8, retries=False)
            else:
                # The ApiClient insists on a token; the real one goes with each call (_auth()).
                config = Configuration(host=host, access_token="-")  # noqa: S106 (a placeholder)
                config.retries = False
                config.connection_pool_maxsize = 16
                api = MessagingApi(ApiClient(config))
            _clients[key] = api
    return api


def _oauth() -> ChannelAccessToken:
    return _shared("oauth", settings.LINE_API_BASE)


def _messaging() -> MessagingApi:
    return _shared("messaging", settings.LINE_API_BASE)


def _content_pool() -> urllib3.PoolManager:
    return _shared("content", settings.LINE_API_DATA_BASE)


def _auth(token: str) -> dict[str, str]:
    return {"in": "header", "type": "bearer", "key": "Authorization", "value": f"Bearer {token}"}


def _request_id(headers: Any) -> str:
    return header(headers, "x-line-request-id")


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
class ContentInfo:
    """A downloaded content's type and size; the bytes went to the caller's file."""

    content_type: str
    size: int


# --- channel access tokens ----------------------------------------------------------------


@sensitive_variables()
def issue_stateless_token(channel_id: str, channel_secret: str) -> IssuedToken:
    """Issue a stateless channel access token (15 minutes, unlimited count, cannot be revoked).

    https://developers.line.biz/en/reference/messaging-api/#issue-stateless-channel-access-token
    A wrong channel id or secret raises LineError(kind=invalid_credentials).
    """
    with line_errors():
        response = _oauth().issue_stateless_channel_token_by_client_secret(
            client_id=channel_id, client_secret=channel_secret, _request_timeout=http_timeout()
        )
    return IssuedToken(access_token=response.access_token, expires_in=response.expires_in)


@sensitive_variables()
def issue_short_lived_token(channel_id: str, channel_secret: str) -> IssuedToken:
    """Issue a short-lived channel access token (30 days; at most 30 per channel, the oldest
    is revoked beyond that). Works for LINE Login channels too, so it checks a Login pair.

    https://developers.line.biz/en/reference/messaging-api/#issue-shortlived-channel-access-token
    """
    with line_errors():
        response = _oauth().issue_channel_token(
            grant_type="client_credentials",
            client_id=channel_id,
            client_secret=channel_secret,
            _request_timeout=http_timeout(),
        )
    return IssuedToken(access_token=response.access_token, expires_in=response.expires_in)


@sensitive_variables()
def revoke_short_lived_token(access_token: str) -> None:
    """Revoke a short-lived (or long-lived) channel access token. 200 even for unknown tokens.

    https://developers.line.biz/en/reference/messaging-api/#revoke-longlived-or-shortlived-channel-access-token
    """
    with line_errors():
        _oauth().revoke_channel_token(access_token=access_token, _request_timeout=http_timeout())


# --- Messaging API ------------------------------------------------------------------------


@sensitive_variables()
def get_bot_info(token: str) -> BotInfo:
    """The Official Account behind the token: userId (= webhook destination), basic id, name.

    https://developers.line.biz/en/reference/messaging-api/#get-bot-info
    A LINE Login channel's token is refused here, which is how swapped channels show up.
    """
    with line_errors():
        info = _messaging().get_bot_info(_request_timeout=http_timeout(), _request_auth=_auth(token))
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
    with line_errors():
        _messaging().set_webhook_endpoint(
            SetWebhookEndpointRequest(endpoint=endpoint), _request_timeout=http_timeout(), _request_auth=_auth(token)
        )


@sensitive_variables()
def get_webhook_endpoint(token: str) -> WebhookEndpoint:
    """The webhook URL and whether "Use webhook" is on. No URL set → LineError(not_found).

    https://developers.line.biz/en/reference/messaging-api/#get-webhook-endpoint-information
    """
    with line_errors():
        info = _messaging().get_webhook_endpoint(_request_timeout=http_timeout(), _request_auth=_auth(token))
    return WebhookEndpoint(endpoint=info.endpoint, active=bool(info.active))


@sensitive_variables()
def run_webhook_test(token: str, endpoint: str | None = None) -> WebhookTestResult:
    """Ask LINE to send an empty-events webhook to the configured (or given) URL now.

    https://developers.line.biz/en/reference/messaging-api/#test-webhook-endpoint
    Rate limit: 60 per hour. A failed delivery is a normal result (success=False), not an error.
    """
    request = TestWebhookEndpointRequest(endpoint=endpoint) if endpoint else TestWebhookEndpointRequest()
    with line_errors():
        result = _messaging().test_webhook_endpoint(
            request, _request_timeout=http_timeout(), _request_auth=_auth(token)
        )
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
    with line_errors():
        quota = _messaging().get_message_quota(_request_timeout=http_timeout(), _request_auth=_auth(token))
    quota_type = getattr(quota.type, "value", quota.type)  # an SDK enum
    return Quota(type=str(quota_type), value=quota.value)


@sensitive_variables()
def get_quota_consumption(token: str) -> int:
    """Messages sent this month (approximate; includes OA Manager sends).

    https://developers.line.biz/en/reference/messaging-api/#get-consumption
    """
    with line_errors():
        consumption = _messaging().get_message_quota_consumption(
            _request_timeout=http_timeout(), _request_auth=_auth(token)
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
        with line_errors():
            response = _messaging().push_message_with_http_info(
                request,
                x_line_retry_key=str(retry_key),
                _request_timeout=http_timeout(),
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
def download_message_content(
    token: str,
    message_id: str,
    destination: IO[bytes],
    *,
    max_bytes: int,
    deadline_seconds: float = CONTENT_DEADLINE_SECONDS,
) -> ContentInfo:
    """Stream an image, video, audio or file a user sent (from the data host) into
    `destination`, which is emptied first (a retry after a 401 starts over).

    https://developers.line.biz/en/reference/messaging-api/#get-content
    202 (still being prepared) → LineError(preparing, transient); 404 → not_found;
    410 (unsent by the user, or past retention) → gone; more than `max_bytes` (by
    Content-Length, or counted while reading) → too_large, permanent; slower than
    `deadline_seconds` in all → network, transient. Download right after the webhook.
    """
    url = f"{settings.LINE_API_DATA_BASE}/v2/bot/message/{quote(message_id, safe='')}/content"
    connect, read = content_timeout()
    started = time.monotonic()
    with line_errors():
        response = _content_pool().request(
            "GET",
            url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=urllib3.Timeout(connect=connect, read=read),
            preload_content=False,
            redirect=False,
            retries=False,
        )
        complete = False
        try:
            if response.status == 202:
                raise LineError(
                    kind=LineErrorKind.PREPARING,
                    status=202,
                    message="The content is still being prepared.",
                    request_id=_request_id(response.headers),
                )
            if response.status != 200:
                raise error_from_response(response.status, response.read(16 * 1024), response.headers)
            declared = header(response.headers, "content-length")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(max_bytes, response.headers)
            destination.seek(0)
            destination.truncate()
            size = 0
            for chunk in response.stream(CONTENT_CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes, response.headers)
                if time.monotonic() - started > deadline_seconds:
                    raise LineError(
                        kind=LineErrorKind.NETWORK,
                        status=200,
                        message=f"the download took longer than {deadline_seconds:.0f} s",
                        request_id=_request_id(response.headers),
                    )
                destination.write(chunk)
            complete = True
        finally:
            if not complete:
                response.close()  # never hand a half-read connection back to the pool
            response.release_conn()
    content_type = header(response.headers, "content-type") or "application/octet-stream"
    return ContentInfo(content_type=content_type, size=size)


def _too_large(max_bytes: int, headers: Any) -> LineError:
    return LineError(
        kind=LineErrorKind.TOO_LARGE,
        status=200,
        message=f"the content is larger than {max_bytes} bytes",
        request_id=_request_id(headers),
    )
