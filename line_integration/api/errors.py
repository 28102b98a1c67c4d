"""What a failed LINE call becomes: one `LineError` with a `kind` and `permanent` (part of the
client, split out of client.py; import these names from `line_integration.client`).

Every failure is a `LineError` with `kind`, `permanent`, LINE's `message` and `details` as
readable text, and the request ids. The two 429s are told apart by LINE's message text: "You
have reached your monthly limit." is `quota_exhausted` (permanent until next month); the rate
limit is `rate_limited` (transient). 5xx, timeouts and connection errors are transient. See
docs/line.md "Errors".

With client.py, the only modules that import `linebot` (its exception and error-body types).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Any

import urllib3
from linebot.v3.messaging import ErrorResponse
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.oauth import ErrorResponse as OAuthErrorResponse
from linebot.v3.oauth.exceptions import ApiException as OAuthApiException

MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."


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
    TOO_LARGE = "too_large"  # content over our size cap: not downloaded, and never will be
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
        # LINE answers 429 both for the rate limit and for the monthly quota; only the text differs.
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


def header(headers: Any, name: str) -> str:
    if not headers:
        return ""
    return str(headers.get(name) or "")


def _text_body(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        return bytes(body).decode("utf-8", errors="replace")
    return str(body)


def error_from_response(status: int, body: Any, headers: Any, *, reason: str = "") -> LineError:
    """The LineError for a Messaging API answer that is not a success (`body`: its text or bytes)."""
    text = _text_body(body)
    message, details, sent_ids = "", [], []
    try:
        parsed = ErrorResponse.from_json(text)
        message = parsed.message
        details = [f"{d.var_property}: {d.message}" if d.var_property else str(d.message) for d in parsed.details or []]
        sent_ids = [m.id for m in parsed.sent_messages or []]
    except (ValueError, TypeError):
        # Not LINE's JSON (a proxy's HTML page, an empty body): keep a short readable excerpt.
        message = text.strip()[:200] or reason
    if not status:
        return LineError(kind=LineErrorKind.NETWORK, status=0, message=reason or "connection failed")
    return LineError(
        kind=_classify(status, message, token_endpoint=False),
        status=status,
        message=message,
        details=details,
        request_id=header(headers, "x-line-request-id"),
        accepted_request_id=header(headers, "x-line-accepted-request-id"),
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
        request_id=header(exc.headers, "x-line-request-id"),
        error_code=error_code,
    )


@contextlib.contextmanager
def line_errors() -> Iterator[None]:
    """Turn whatever the SDK or urllib3 raises into one LineError."""
    try:
        yield
    except OAuthApiException as exc:
        raise _error_from_oauth(exc) from exc
    except ApiException as exc:
        raise error_from_response(exc.status or 0, exc.body, exc.headers, reason=str(exc.reason or "")) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # Timeouts, refused or reset connections, TLS failures. The text names host and port only.
        raise LineError(kind=LineErrorKind.NETWORK, status=0, message=f"{type(exc).__name__}: {exc}"[:300]) from exc
