"""The webhook's fast path: `views.receive`'s answers, with less work per request.

On unless settings.LINE_WEBHOOK_FAST_PATH is False; then webhook requests go through the
URLconf to `views.webhook` like any other. What it changes is only how much work a request
costs (benchmarks/README.md has the figures):

- `WebhookMiddleware`, first in MIDDLEWARE, answers webhook POSTs before sessions, CSRF, auth,
  CSP and the rest, none of which a signed machine-to-machine request uses. `WebhookWSGI`,
  around Django's WSGI application (settings.WSGI_WRAPPERS), answers them earlier still: no
  WSGIRequest, no request signals, no handler chain.
- The linked channel and an HMAC keyed with its decrypted secret are cached per process for
  `CACHE_SECONDS`; dropped on any LineIntegration save in this process, and read again (at most
  every `RECHECK_SECONDS`) on a signature or destination mismatch, so a relink elsewhere never
  bounces events.
- The rows are written by `fast_store.store`: one shared INSERT per burst of requests.

Both doors answer `/line/webhook/<id>/` and `/line/webhook/<id>` (no APPEND_SLASH redirect: a
301 on POST is a failed delivery for LINE); other methods fall through to the URLconf (405).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property

from line_integration.models import LineIntegration
from line_integration.webhook import fast_store, views

PATH_PREFIX = "/line/webhook/"
CACHE_SECONDS = 10.0
RECHECK_SECONDS = 1.0


# --- the per-process channel cache --------------------------------------------------------


@dataclass(frozen=True)
class CachedChannel(views.Channel):
    public_id: str
    mac: Any  # an hmac.HMAC keyed with the channel secret; copied for each request
    loaded_at: float

    def digest(self, body: bytes) -> bytes:
        mac = self.mac.copy()
        mac.update(body)
        return mac.digest()

    def fresh(self) -> views.Channel | None:
        """At most once a second, so a flood of forged requests is not a flood of queries."""
        if time.monotonic() - self.loaded_at < RECHECK_SECONDS:
            return self
        return _load(self.public_id)


_channels: dict[str, CachedChannel] = {}


def _load(public_id: str) -> CachedChannel | None:
    try:
        channel = views.linked_channel(public_id)
    finally:
        fast_store.tidy_connection()
    if channel is None:
        _channels.pop(public_id, None)
        return None
    mac = hmac.new(channel.secret.encode(), digestmod=hashlib.sha256)
    cached = CachedChannel(channel.company_id, channel.bot_user_id, channel.secret, public_id, mac, time.monotonic())
    _channels[public_id] = cached
    return cached


def channel_for(public_id: str) -> views.Channel | None:
    """The linked channel behind a webhook URL, from this process's cache when recent."""
    cached = _channels.get(public_id)
    if cached is not None and time.monotonic() - cached.loaded_at < CACHE_SECONDS:
        return cached
    return _load(public_id)


def forget_channels() -> None:
    _channels.clear()


@receiver(post_save, sender=LineIntegration, dispatch_uid="line_webhook_forget_on_save")
@receiver(post_delete, sender=LineIntegration, dispatch_uid="line_webhook_forget_on_delete")
def _integration_changed(**kwargs: Any) -> None:
    forget_channels()


# --- the doors ----------------------------------------------------------------------------


def receive(request: views.WebhookRequest, public_id: str) -> views.Answer:
    return views.receive(request, public_id, find=channel_for, save=fast_store.store)


def _public_id(method: str, path: str) -> str | None:
    """The public id of a webhook POST's path (`/line/webhook/<id>/` or without the slash)."""
    if method == "POST" and path.startswith(PATH_PREFIX) and settings.LINE_WEBHOOK_FAST_PATH:
        public_id = path[len(PATH_PREFIX) :].removesuffix("/")
        if public_id and "/" not in public_id:
            return public_id
    return None


class WebhookMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        public_id = _public_id(request.method or "", request.path_info)
        if public_id is None:
            return self.get_response(request)
        answer = receive(request, public_id)
        response = HttpResponse(answer.text, status=answer.status, content_type="text/plain; charset=utf-8")
        response["Content-Length"] = str(len(response.content))  # CommonMiddleware is skipped
        return response


class RawRequest:
    """What `views.receive` reads of a request, straight from the WSGI environ: `META` (the
    environ itself, as in Django's WSGIRequest) and `body`, read on first use like Django's:
    exactly CONTENT_LENGTH bytes, none without it."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.META = environ

    @cached_property
    def body(self) -> bytes:
        length = self.META.get("CONTENT_LENGTH") or ""
        return self.META["wsgi.input"].read(int(length)) if length.isdigit() else b""


_wsgi_answers: dict[views.Answer, tuple[str, list[tuple[str, str]], bytes]] = {}


def _wsgi_answer(answer: views.Answer) -> tuple[str, list[tuple[str, str]], bytes]:
    """The answer's WSGI status line, headers and body, built once per answer."""
    built = _wsgi_answers.get(answer)
    if built is None:
        body = answer.text.encode()
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        built = _wsgi_answers[answer] = (f"{answer.status} {HTTPStatus(answer.status).phrase}", headers, body)
    return built


class WebhookWSGI:
    """Wraps Django's WSGI application (hrmos/wsgi.py): webhook POSTs with an ASCII public id
    are answered without Django's handler (WSGI paths are Latin-1-decoded bytes: any other id
    goes through Django, which decodes it)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        public_id = _public_id(environ.get("REQUEST_METHOD", "").upper(), environ.get("PATH_INFO", ""))
        if public_id is None or not public_id.isascii():
            return self.application(environ, start_response)
        status, headers, body = _wsgi_answer(receive(RawRequest(environ), public_id))
        start_response(status, list(headers))
        return [body]
