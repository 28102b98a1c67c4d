"""`WebhookWSGI` (hrmos/wsgi.py), the fast path's outer door: webhook POSTs answered before
Django's handler, the same answers as through the URLconf; everything else through Django."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from django.core.signals import request_started
from django.db import connection

from hrmos.wsgi import application
from line_integration.models import LineWebhookEvent
from line_integration.webhook import fast_path, fast_store
from tests.line_webhook_helpers import OTHER_SECRET, SECRET, fixture_body, link_directly, sign, webhook_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(company):
    return link_directly(company)


def call(app: Any, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json; charset=utf-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        **(headers or {}),
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(response_headers)

    result = app(environ, start_response)
    content = b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return answer["status"], answer["headers"], content


def test_a_signed_event_is_stored_without_djangos_request_signals(company, integration):
    body = fixture_body("message_text")
    signals: list[str] = []

    def started(**kwargs: Any) -> None:
        signals.append("started")

    request_started.connect(started)
    try:
        status, headers, content = call(
            application, "POST", webhook_path(company), body, {"HTTP_X_LINE_SIGNATURE": sign(SECRET, body)}
        )
    finally:
        request_started.disconnect(started)
    assert (status, content) == ("200 OK", b"OK")
    assert headers["Content-Length"] == "2"
    assert LineWebhookEvent.objects.get().company_id == company.pk
    assert signals == []


def test_the_answers_are_the_views(company, integration):
    body = fixture_body("message_text")
    path = webhook_path(company, slash=False)
    assert call(application, "POST", path, body, {"HTTP_X_LINE_SIGNATURE": sign(OTHER_SECRET, body)})[0] == (
        "400 Bad Request"
    )
    assert call(application, "POST", path, body)[0] == "400 Bad Request"  # no signature
    unknown = "/line/webhook/nosuchcompany/"
    assert call(application, "POST", unknown, body, {"HTTP_X_LINE_SIGNATURE": sign(SECRET, body)})[0] == (
        "404 Not Found"
    )
    assert LineWebhookEvent.objects.count() == 0


def django_stub(calls: list[str]) -> Any:
    """Stands in for Django's handler, whose request signals would close the test's connection."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        start_response("204 No Content", [])
        return [b""]

    return app


def test_other_requests_go_through_django(company, integration):
    calls: list[str] = []
    app = fast_path.WebhookWSGI(django_stub(calls))
    body = fixture_body("message_text")
    headers = {"HTTP_X_LINE_SIGNATURE": sign(SECRET, body)}
    call(app, "GET", webhook_path(company))
    call(app, "POST", "/line/webhook/", body, headers)
    call(app, "POST", webhook_path(company) + "extra/", body, headers)
    call(app, "POST", "/line/webhook/caf\u00e9/", body, headers)  # not ASCII: Django decodes the path
    call(app, "POST", "/candidates/", body, headers)
    assert len(calls) == 5
    assert LineWebhookEvent.objects.count() == 0


def test_with_the_fast_path_off_everything_goes_through_django(company, integration, settings):
    settings.LINE_WEBHOOK_FAST_PATH = False
    calls: list[str] = []
    app = fast_path.WebhookWSGI(django_stub(calls))
    body = fixture_body("message_text")
    call(app, "POST", webhook_path(company), body, {"HTTP_X_LINE_SIGNATURE": sign(SECRET, body)})
    assert calls == [f"POST {webhook_path(company)}"]
    assert LineWebhookEvent.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_max_age_is_closed_after_the_insert_as_django_would(company, monkeypatch):
    """WebhookWSGI skips request_finished, so the webhook closes an outlived connection itself."""
    link_directly(company)
    woken: list[int] = []
    monkeypatch.setattr(fast_store.tasks, "wake", woken.append)  # eager processing would reconnect
    body = fixture_body("message_text")
    assert fast_path.channel_for(company.public_id) is not None  # cached: the request's one query is the INSERT
    connection.close_at = time.monotonic() - 1  # as if CONN_MAX_AGE had run out during the request
    status, _, _ = call(application, "POST", webhook_path(company), body, {"HTTP_X_LINE_SIGNATURE": sign(SECRET, body)})
    assert status == "200 OK"
    assert connection.connection is None
    assert woken == [company.pk]
    assert LineWebhookEvent.objects.filter(company=company).count() == 1
