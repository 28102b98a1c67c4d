"""The webhook: signature, routing, storage, deduplication and failure answers, through both paths."""

import http.client
import json
import logging
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.db import OperationalError, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from line_integration.models import LineIntegration, LineWebhookEvent
from line_integration.webhook import body as webhook_body
from line_integration.webhook import fast_path
from line_integration.webhook import views as webhook
from messaging.models import Message
from tests.conftest import make_candidate
from tests.line_webhook_helpers import (
    BOT_USER_ID,
    OTHER_SECRET,
    SECRET,
    USER_ID,
    body_of,
    event_of,
    fixture_body,
    link_directly,
    post,
    sign,
    webhook_path,
)

# Every test here runs through the fast path and through the plain view (both_webhook_paths).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_webhook_paths")]


@pytest.fixture
def integration(company) -> LineIntegration:
    return link_directly(company)


@pytest.fixture
def friend(company, integration):
    """A candidate linked to the fixtures' LINE user."""
    from line_integration.models import LineAccount

    candidate = make_candidate(company)
    LineAccount.objects.create(
        company=company, candidate=candidate, line_user_id=USER_ID, display_name="山田 花子", friend_state="friend"
    )
    return candidate


def test_a_signed_event_is_stored_and_answered_200(client, company, integration):
    body = fixture_body("message_text")
    response = post(client, company, body)
    assert response.status_code == 200
    row = LineWebhookEvent.objects.get()
    assert (row.company_id, row.event_type) == (company.pk, "message")
    assert row.webhook_event_id == "01JDXQ4T8S3M5Q0B7W1Y2Z3A4B"
    assert (row.source_type, row.source_user_id, row.line_message_id) == ("user", USER_ID, "536412389101234567")
    assert row.timestamp.timestamp() == pytest.approx(1764028800.123)
    assert row.mode == "active" and row.is_redelivery is False and row.processed_at is None
    assert row.payload == json.loads(body)["events"][0]


def test_the_empty_events_of_lines_verify_button_answer_200_and_store_nothing(client, company, integration):
    response = post(client, company, body_of())
    assert response.status_code == 200
    assert not LineWebhookEvent.objects.exists()


def test_a_bad_signature_is_400_and_nothing_is_stored(client, company, integration):
    body = fixture_body("message_text")
    response = post(client, company, body, headers={"x-line-signature": sign(SECRET, body + b" ")})
    assert response.status_code == 400
    assert not LineWebhookEvent.objects.exists()


def test_a_missing_signature_header_is_400(client, company, integration):
    response = post(client, company, fixture_body("message_text"), secret=None)
    assert response.status_code == 400
    assert not LineWebhookEvent.objects.exists()


def test_a_body_signed_with_another_companys_secret_is_400(client, company, other_company, integration):
    link_directly(other_company, secret=OTHER_SECRET, bot_user_id="U" + "1" * 32)
    response = post(client, company, fixture_body("message_text"), secret=OTHER_SECRET)
    assert response.status_code == 400
    assert not LineWebhookEvent.objects.exists()


def test_a_destination_other_than_the_companys_bot_is_400(client, company, integration):
    response = post(client, company, fixture_body("message_text", destination="U" + "9" * 32))
    assert response.status_code == 400
    assert not LineWebhookEvent.objects.exists()


def test_japanese_text_signed_over_its_utf8_bytes_is_accepted(client, company, integration):
    body = fixture_body("message_text")
    assert "お世話になっております".encode() in body  # raw UTF-8, as LINE sends it
    assert post(client, company, body).status_code == 200


def test_the_same_json_reserialised_with_ensure_ascii_fails_the_original_signature(client, company, integration):
    original = fixture_body("message_text")
    reencoded = json.dumps(json.loads(original), ensure_ascii=True, separators=(",", ":")).encode()
    assert json.loads(reencoded) == json.loads(original)
    response = post(client, company, reencoded, secret=None, headers={"x-line-signature": sign(SECRET, original)})
    assert response.status_code == 400
    assert not LineWebhookEvent.objects.exists()


def test_an_unknown_company_is_404(client, company, integration):
    body = fixture_body("message_text")
    response = client.post(
        "/line/webhook/doesnotexist0000/", data=body, content_type="application/json", headers={"x-line-signature": "x"}
    )
    assert response.status_code == 404


def test_a_company_that_is_not_linked_is_404(client, company, integration):
    integration.clear_link()
    integration.save()
    assert post(client, company, fixture_body("message_text")).status_code == 404


def test_malformed_json_with_a_valid_signature_is_400_and_logged(client, company, integration, caplog):
    caplog.set_level(logging.WARNING, logger="line_integration.webhook.views")
    for body in (b'{"destination": "', b"[1, 2]", b'{"destination": 1, "events": []}', b"\xff\xfe"):
        assert post(client, company, body).status_code == 400
    assert not LineWebhookEvent.objects.exists()
    assert "malformed body" in caplog.text


def test_an_event_that_is_not_an_object_is_400(client, company, integration):
    body = json.dumps({"destination": BOT_USER_ID, "events": ["text"]}).encode()
    assert post(client, company, body).status_code == 400


def test_the_warning_for_a_bad_signature_holds_neither_body_nor_signature(client, company, integration, caplog):
    caplog.set_level(logging.WARNING, logger="line_integration.webhook.views")
    body = fixture_body("message_text")
    bad = sign(OTHER_SECRET, body)
    post(client, company, body, secret=None, headers={"x-line-signature": bad})
    assert "bad signature" in caplog.text
    assert bad not in caplog.text and "お世話になっております" not in caplog.text


def test_a_body_over_the_cap_is_refused(client, company, integration):
    event = event_of("message_text")
    event["message"]["text"] = "あ" * (webhook.MAX_BODY_BYTES // 3 + 10)
    response = post(client, company, body_of(event))
    assert response.status_code == 413
    assert not LineWebhookEvent.objects.exists()


def test_a_database_outage_answers_5xx_so_line_redelivers(client, company, integration):
    def database_down(execute, sql, params, many, context):
        raise OperationalError("could not connect to server")

    with connection.execute_wrapper(database_down):
        response = post(client, company, fixture_body("message_text"))
    assert response.status_code == 503
    assert not LineWebhookEvent.objects.exists()


def test_the_path_without_a_trailing_slash_is_answered_not_redirected(client, company, integration):
    body = fixture_body("message_text")
    response = post(client, company, body, path=webhook_path(company, slash=False))
    assert response.status_code == 200
    assert LineWebhookEvent.objects.count() == 1


def test_the_webhook_needs_no_csrf_token_or_login(company, integration):
    client = Client(enforce_csrf_checks=True)
    assert post(client, company, fixture_body("message_text")).status_code == 200


def test_other_methods_are_405_not_a_login_redirect(client, company, integration):
    assert client.get(webhook_path(company)).status_code == 405


def test_ten_events_are_stored_with_one_insert(client, company, integration):
    events = []
    for index in range(10):
        event = event_of("message_text")
        event["webhookEventId"] = f"01JDXQ4T8S3M5Q0B7W1Y2Z{index:04d}"
        event["message"]["id"] = f"5364123891012{index:05d}"
        events.append(event)
    with CaptureQueriesContext(connection) as queries:
        response = post(client, company, body_of(*events))
    assert response.status_code == 200
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1
    assert LineWebhookEvent.objects.count() == 10


def test_the_request_returns_fast_with_processing_out_of_it(client, company, integration):
    events = [dict(event_of("message_text"), webhookEventId=f"01JDXQ4T8S3M5Q0B7W1Y2Z{i:04d}") for i in range(10)]
    body = body_of(*events)
    post(client, company, body_of())  # warm the integration cache
    started = time.perf_counter()
    response = post(client, company, body)  # not in a captured on_commit: nothing is processed here
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < 0.2


def test_the_same_body_twice_is_stored_once_and_has_one_effect(
    client, company, integration, friend, django_capture_on_commit_callbacks
):
    body = fixture_body("message_text")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, company, body).status_code == 200
    assert LineWebhookEvent.objects.count() == 1
    assert Message.objects.filter(candidate=friend).count() == 1
    assert LineWebhookEvent.objects.get().outcome == "processed"


def test_a_redelivery_is_deduplicated_against_the_original(
    client, company, integration, friend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, company, fixture_body("message_text"))
        redelivered = fixture_body("message_text", deliveryContext={"isRedelivery": True})
        assert post(client, company, redelivered).status_code == 200
    assert LineWebhookEvent.objects.count() == 1
    assert LineWebhookEvent.objects.get().is_redelivery is False
    assert Message.objects.count() == 1


def test_a_new_secret_stored_by_another_process_is_picked_up_although_the_old_one_was_cached(
    client, company, integration, monkeypatch
):
    assert post(client, company, fixture_body("message_text")).status_code == 200  # caches SECRET
    LineIntegration.objects.filter(pk=integration.pk).update(messaging_channel_secret=OTHER_SECRET)  # no signal
    monkeypatch.setattr(fast_path, "RECHECK_SECONDS", 0)
    body = fixture_body("message_text", event_id="01JDXQ4T8S3M5Q0B7W1Y2Z3XXX")
    assert post(client, company, body, secret=OTHER_SECRET).status_code == 200
    assert post(client, company, fixture_body("message_text", event_id="01JX"), secret=SECRET).status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_body_posted_concurrently_is_stored_once_with_one_effect(company, settings):
    integration = link_directly(company)
    from line_integration.models import LineAccount

    candidate = make_candidate(company)
    LineAccount.objects.create(company=company, candidate=candidate, line_user_id=USER_ID, friend_state="friend")
    body = fixture_body("message_text")
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        try:
            barrier.wait()
            statuses.append(post(Client(), company, body).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert LineWebhookEvent.objects.filter(company=company).count() == 1
    assert Message.objects.filter(candidate=candidate).count() == 1
    row = LineWebhookEvent.objects.get()
    assert row.outcome == "processed" and row.attempts == 1
    assert integration.pk


def test_a_body_with_a_nul_character_is_stored_with_it_replaced(
    client, company, integration, friend, django_capture_on_commit_callbacks
):
    event = event_of("message_text")
    event["message"]["text"] = "添付します\u0000よろしくお願いします"
    body = body_of(event)
    assert b"\\u0000" in body  # JSON's escape: valid JSON, and LINE signs these bytes

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, company, body)

    assert response.status_code == 200
    row = LineWebhookEvent.objects.get()
    assert row.payload["message"]["text"] == "添付します\ufffdよろしくお願いします"
    assert "U+FFFD" in row.payload[webhook_body.SANITIZED_KEY]
    assert Message.objects.get(candidate=friend).body == "添付します\ufffdよろしくお願いします"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_stores_a_nul_bearing_event_through_the_shared_insert(company):
    """jsonb refuses \\u0000 (a DataError that failed the request, and every request sharing its
    insert, on each redelivery): through the production path (autocommit, GroupCommit)."""
    link_directly(company)
    event = event_of("message_text")
    event["message"]["text"] = "\u0000"
    event["source"]["userId\u0000"] = "key with a NUL"

    assert post(Client(), company, body_of(event)).status_code == 200

    row = LineWebhookEvent.objects.get(company=company)
    assert row.payload["message"]["text"] == "\ufffd" and "userId\ufffd" in row.payload["source"]


def test_an_unexpected_error_is_answered_500_and_logged_not_raised(client, company, integration, caplog):
    def driver_bug(execute, sql, params, many, context):
        raise RuntimeError("not a database error")

    with connection.execute_wrapper(driver_bug):
        response = post(client, company, fixture_body("message_text"))

    assert response.status_code == 500
    assert "unexpected error, answering 500" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_lower_case_signature_header_on_the_wire_is_read(live_server, company):
    """Over a real socket (the test client would normalise the header name for us)."""
    link_directly(company)
    address = urlsplit(live_server.url)

    def send(body: bytes, signature: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            connection.putrequest("POST", webhook_path(company))
            connection.putheader("content-type", "application/json; charset=utf-8")
            connection.putheader("content-length", str(len(body)))
            connection.putheader("x-line-signature", signature)
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    body = fixture_body("message_text")
    assert send(body, sign(OTHER_SECRET, body)) == (400, b"bad signature")  # read, and checked
    assert send(body, sign(SECRET, body)) == (200, b"OK")
    assert LineWebhookEvent.objects.filter(company=company).count() == 1
