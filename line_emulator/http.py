"""HTTP plumbing shared by the LINE API views: request ids, error bodies, auth, faults, rate limits."""

import json
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from line_emulator import ids, runtime, sql
from line_emulator.models import AccessToken, Channel
from line_emulator.server import DROP_CONNECTION

AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
RATE_LIMITED = "The API rate limit has been exceeded. Try again later."
MONTHLY_LIMIT = "You have reached your monthly limit."
SERVER_ERROR = "An internal server error occurred."
MAX_BODY_BYTES = 2 * 1024 * 1024
CHANNEL_TOKEN_KINDS = (AccessToken.SHORT_LIVED, AccessToken.LONG_LIVED, AccessToken.STATELESS)

View = Callable[..., HttpResponse]


class ApiRequest(HttpRequest):
    """A request past RequestIdMiddleware."""

    line_request_id: str


class RequestIdMiddleware:
    """Every response carries a fresh `x-line-request-id`, as LINE's do."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: ApiRequest) -> HttpResponse:
        request.line_request_id = ids.request_id()
        response = self.get_response(request)
        response["x-line-request-id"] = request.line_request_id
        if not response.streaming and "Content-Length" not in response:
            # Without it the server closes the connection after each response (no keep-alive).
            response["Content-Length"] = str(len(response.content))
        return response


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body, status=status, content_type="application/json", headers=headers)


def line_error(status: int, message: str, details: list[dict[str, str]] | None = None, **extra: Any) -> HttpResponse:
    """The Messaging API's error body: {"message", "details"?} (details only when not empty)."""
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    body.update(extra)
    return json_response(body, status)


def oauth_error(error: str, description: str | None = None, status: int = 400) -> HttpResponse:
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    return json_response(body, status)


def empty_ok() -> HttpResponse:
    return HttpResponse(b"", status=200, content_type="application/json")


def bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def find_token(token: str, kinds: tuple[str, ...]) -> AccessToken | None:
    """A live token (not revoked, not expired on the emulated clock) of one of `kinds`."""
    if not token:
        return None
    found = AccessToken.objects.select_related("channel").filter(token=token, kind__in=kinds, revoked=False).first()
    if found is None or (found.expires_at is not None and found.expires_at <= runtime.now()):
        return None
    return found


# token -> (channel_id, expires_at) of live channel tokens; every revocation calls forget_tokens().
_live_channel_tokens: dict[str, tuple[str, datetime | None]] = {}


def forget_tokens() -> None:
    _live_channel_tokens.clear()


def authenticated_channel(value: str) -> Channel | None:
    """The channel a live channel access token belongs to (the hot path of every Messaging API call)."""
    if not value:
        return None
    cached = _live_channel_tokens.get(value)
    if cached is None:
        cached = (
            AccessToken.objects.filter(token=value, kind__in=CHANNEL_TOKEN_KINDS, revoked=False)
            .values_list("channel_id", "expires_at")
            .first()
        )
        if cached is None:
            return None
        if len(_live_channel_tokens) > 10_000:
            _live_channel_tokens.clear()
        _live_channel_tokens[value] = cached
    channel_id, expires_at = cached
    if expires_at is not None and expires_at <= runtime.now():
        return None
    return sql.channel(channel_id)


def drop_connection(request: HttpRequest) -> HttpResponse:
    request.META[DROP_CONNECTION] = True
    return HttpResponse(status=500)


def _fault_response(request: HttpRequest, mode: str) -> HttpResponse:
    if mode == "500":
        return line_error(500, SERVER_ERROR)
    if mode == "429-rate":
        return line_error(429, RATE_LIMITED)
    if mode == "429-quota":
        return line_error(429, MONTHLY_LIMIT)
    if mode == "202":
        return HttpResponse(b"", status=202)
    if mode == "timeout":
        time.sleep(float(runtime.setting("fault_timeout_seconds")))
    return drop_connection(request)


def apply_fault(request: HttpRequest, mode: str | None, view: Callable[[], HttpResponse]) -> HttpResponse:
    """Run `view` under an injected fault: before it (nothing happens) or, for accept-then-*, after it."""
    if mode is None:
        return view()
    if not mode.startswith("accept-then-"):
        return _fault_response(request, mode)
    response = view()
    if response.status_code >= 300:
        return response  # nothing was accepted, so nothing to lose
    return _fault_response(request, mode.removeprefix("accept-then-"))


def line_api(endpoint: str, *, channel_auth: bool = True, messaging_only: bool = True) -> Callable[[View], View]:
    """A Messaging API view: Bearer channel token → fault injection → token bucket → the view.

    The view receives the authenticated `Channel` after the request. `endpoint` is the
    "METHOD /path/{template}" key used by faults and rate limits.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not channel_auth:
                mode = runtime.take_fault(endpoint, None)
                return apply_fault(request, mode, lambda: view(request, *args, **kwargs))
            channel = authenticated_channel(bearer_token(request))
            if channel is None:
                return line_error(401, AUTH_FAILED)
            if messaging_only and not channel.is_messaging:
                return line_error(403, "Access to this API is not available for your account")
            mode = runtime.take_fault(endpoint, channel.channel_id)
            if mode is None and not runtime.take_token(channel.channel_id, endpoint):
                return line_error(429, RATE_LIMITED)
            return apply_fault(request, mode, lambda: view(request, channel, *args, **kwargs))

        return wrapper

    return decorator


def parse_json(request: HttpRequest) -> tuple[Any, HttpResponse | None]:
    """LINE's checks on a JSON request body, in LINE's order: content type, size, syntax."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        return None, line_error(415, f"The content type, {content_type}, is not supported")
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return None, line_error(413, "Request Entity Too Large")
    try:
        return json.loads(request.body.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, line_error(400, "The request body could not be parsed as JSON (line: 1, column: 1)")
    except json.JSONDecodeError as error:
        message = f"The request body could not be parsed as JSON (line: {error.lineno}, column: {error.colno})"
        return None, line_error(400, message)


def control_error(status: int, message: str) -> HttpResponse:
    """Errors of the emulator's own control API (not LINE's shape)."""
    return json_response({"error": message}, status)


def read_control_json(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    data = json.loads(request.body.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def wants_json(request: HttpRequest) -> bool:
    path = request.path
    return not (path.startswith(("/console", "/phone", "/oauth2/v2.1/authorize", "/oauth2/v2.1/login")) or path == "/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return line_error(404, "Not found")
    return render(
        request,
        "line_emulator/error.html",
        {"title": "404 Not Found", "message": "ページが見つかりません。"},
        status=404,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return line_error(500, SERVER_ERROR)
    return HttpResponse("500 Internal Server Error", status=500, content_type="text/plain; charset=utf-8")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    context = {
        "title": "403 Forbidden",
        "message": "フォームの有効期限が切れました。ページを再読み込みしてやり直してください。",
    }
    return render(request, "line_emulator/error.html", context, status=403)
