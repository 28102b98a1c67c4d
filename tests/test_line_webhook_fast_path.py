"""What only the webhook's fast path does: the per-process channel cache and the group commit
(its answers are tested through both paths in test_line_webhook.py)."""

import threading
import time

import pytest
from django.db import DatabaseError, DataError, OperationalError, connection
from django.test.utils import CaptureQueriesContext

from line_integration.models import LineIntegration
from line_integration.webhook import fast_store
from tests.line_webhook_helpers import OTHER_SECRET, body_of, fixture_body, link_directly, post


@pytest.fixture
def integration(company) -> LineIntegration:
    return link_directly(company)


@pytest.mark.django_db
def test_forged_requests_do_not_query_the_database_each_time(client, company, integration):
    post(client, company, body_of())  # caches the channel
    body = fixture_body("message_text")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert post(client, company, body, secret=OTHER_SECRET).status_code == 400
    assert len(queries) == 0


def test_group_commit_writes_every_row_once_and_answers_only_after_its_own_write():
    written: list[int] = []
    batches: list[list[int]] = []

    def slow_write(rows):
        time.sleep(0.01)  # a statement in flight: later arrivals queue up behind it
        batches.append([row["n"] for row in rows])
        written.extend(row["n"] for row in rows)

    group = fast_store.GroupCommit(slow_write)
    answered_after_write: list[bool] = []

    def request(n: int) -> None:
        group([{"n": n}])
        answered_after_write.append(n in written)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(written) == list(range(20))
    assert all(answered_after_write) and len(answered_after_write) == 20
    assert len(batches) < 20  # rows shared statements


def test_group_commit_hands_a_lost_connection_to_every_request_of_the_batch():
    def broken(rows):
        time.sleep(0.01)
        raise OperationalError("server closed the connection unexpectedly")

    group = fast_store.GroupCommit(broken)
    errors: list[BaseException] = []

    def request() -> None:
        try:
            group([{"n": 1}])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 5
    assert all(isinstance(error, DatabaseError) for error in errors)


def test_group_commit_fails_only_the_request_whose_rows_the_database_refuses():
    first_is_writing = threading.Event()
    statements: list[list[int]] = []
    written: list[int] = []

    def picky(rows):
        numbers = [row["n"] for row in rows]
        statements.append(numbers)
        if numbers == [0]:  # the first request's statement: hold it until the others queue behind it
            first_is_writing.set()
            deadline = time.monotonic() + 5
            while len(group._queue) < 7 and time.monotonic() < deadline:
                time.sleep(0.001)
        if 3 in numbers:
            raise DataError("unsupported Unicode escape sequence")
        written.extend(numbers)

    group = fast_store.GroupCommit(picky)
    errors: dict[int, BaseException] = {}

    def request(n: int) -> None:
        try:
            group([{"n": n}])
        except Exception as exc:
            errors[n] = exc

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    threads[0].start()
    assert first_is_writing.wait(5)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(written) == [0, 1, 2, 4, 5, 6, 7]
    assert list(errors) == [3] and isinstance(errors[3], DatabaseError)
    assert sorted(statements[1]) == [1, 2, 3, 4, 5, 6, 7]  # shared, failed, then written one by one
    assert len(statements) == 2 + 7
