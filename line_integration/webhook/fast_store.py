"""The fast path's storage: the same rows as `views.store`, written with less work per request.

- Concurrent requests of one process share one INSERT, and so one commit (`GroupCommit`);
  every request still answers only after its own rows are committed.
- The INSERT is the statement `bulk_create(ignore_conflicts=True)` sends (`ON CONFLICT
  (company, webhookEventId) DO NOTHING`), built once per row count and issued alone in
  autocommit: one round trip, no BEGIN/COMMIT around it.
- Django's per-request connection health check (a SELECT 1) is skipped in favour of one
  reconnect on failure, and the connection is tidied (`tidy_connection`) by the thread that
  used it, since the WSGI door skips Django's request signals.

benchmarks/README.md has what each of these is worth.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connections, router, transaction
from django.utils import timezone

from line_integration.models import LineWebhookEvent
from line_integration.processing import tasks
from line_integration.webhook.body import event_values

logger = logging.getLogger(__name__)

_COLUMNS_SET = (  # what event_values() fills: bound parameters of the INSERT
    "company_id", "webhook_event_id", "event_type", "source_type", "source_user_id", "line_message_id",
    "timestamp", "is_redelivery", "mode", "payload", "received_at",
)  # fmt: skip
_FIELDS_BY_ATTNAME = {field.attname: field for field in LineWebhookEvent._meta.concrete_fields}
_PARAM_FIELDS = [_FIELDS_BY_ATTNAME[name] for name in _COLUMNS_SET]
# Only these need adapting for the database (JSON, and datetimes on SQLite); the rest are
# already plain str/int/bool, so Django's per-field get_db_prep_save is skipped for them.
_ADAPTED = {field.attname for field in _PARAM_FIELDS if field.get_internal_type() in ("JSONField", "DateTimeField")}


def _literal(value: Any) -> str:
    if value == "" and isinstance(value, str):
        return "''"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"no SQL literal for default {value!r}: bind it in event_values() instead")


# The other NOT NULL columns get their model default as a constant in the statement (fewer
# parameters to adapt per row); nullable ones are left out (NULL).
_CONSTANT_FIELDS = [
    field
    for field in LineWebhookEvent._meta.concrete_fields
    if not field.primary_key and field not in _PARAM_FIELDS and not field.null
]
_CONSTANTS = [_literal(field.get_default()) for field in _CONSTANT_FIELDS]
_insert_sql: dict[tuple[str, int], str] = {}


def _insert_statement(connection: Any, count: int) -> str:
    """`INSERT … VALUES (…), … ON CONFLICT (company_id, webhook_event_id) DO NOTHING`: the
    statement `bulk_create(ignore_conflicts=True)` sends, built once per row count. Issued on
    its own in autocommit it is one round trip (bulk_create adds BEGIN and COMMIT around it)."""
    key = (connection.vendor, count)
    sql = _insert_sql.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in [*_PARAM_FIELDS, *_CONSTANT_FIELDS])
        row = "(" + ", ".join(["%s"] * len(_PARAM_FIELDS) + _CONSTANTS) + ")"
        # Identifiers come from the model's meta; every value is a bound parameter or a constant default.
        table, rows, conflict = quote(LineWebhookEvent._meta.db_table), ", ".join([row] * count), quote("company_id")
        sql = f"INSERT INTO {table} ({columns}) VALUES {rows} "  # noqa: S608
        sql += f"ON CONFLICT ({conflict}, {quote('webhook_event_id')}) DO NOTHING"
        if count <= 64:
            _insert_sql[key] = sql
    return sql


def _connection() -> Any:
    return connections[router.db_for_write(LineWebhookEvent)]


def _insert(rows: list[dict[str, Any]], connection: Any) -> None:
    params = [
        field.get_db_prep_save(row[field.attname], connection) if field.attname in _ADAPTED else row[field.attname]
        for row in rows
        for field in _PARAM_FIELDS
    ]
    sql = _insert_statement(connection, len(rows))
    reused = connection.connection is not None and not connection.in_atomic_block
    if reused:
        # Django would run its connection health check (a SELECT 1 round trip) before this
        # request's first query. A dead connection fails the INSERT just as surely, and that
        # case is handled below with a fresh connection, so the check is skipped here.
        connection.health_check_done = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    except (InterfaceError, OperationalError):
        if not reused:
            raise
        connection.close()  # the persistent connection died (a database restart): reconnect once
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


class GroupCommit:
    """Concurrent webhook requests of one process share one INSERT, and so one commit.

    With threaded workers several webhook requests wait on the database at once. The first
    becomes the leader and inserts every row queued so far in one statement; requests that
    arrive meanwhile queue up, and when the statement returns the leader hands the next batch
    to the first of them. Every request still answers only after ITS rows are committed (or
    gets the error, hence 503), so durability before the 200 is unchanged; what is shared is
    the statement, the round trip and the WAL flush, which dominate the webhook's cost. Alone,
    a request simply inserts its own rows (no waiting, no timer).

    A shared statement fails as a whole, though one request's row may be all that is wrong
    with it (a value the database refuses). So when it fails for anything but a lost
    connection, each request's rows are written again on their own, and only the requests
    whose own rows fail get an error. A lost connection fails them all alike: retrying one by
    one would only wait on the dead database N times.
    """

    @dataclass
    class _Job:
        rows: list[dict[str, Any]]
        ready: threading.Event = dataclasses.field(default_factory=threading.Event)
        done: bool = False
        error: BaseException | None = None

    def __init__(self, write: Callable[[list[dict[str, Any]]], None]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._queue: list[GroupCommit._Job] = []
        self._busy = False

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        job = self._Job(rows)
        with self._lock:
            self._queue.append(job)
            leading = not self._busy
            self._busy = True
        if not leading:
            job.ready.wait()
        if not job.done:  # the leader, or promoted to lead the next batch (this job is in it)
            self._lead()
        if job.error is not None:
            if isinstance(job.error, DatabaseError):
                raise DatabaseError(str(job.error)) from job.error
            raise RuntimeError("storing the webhook events failed") from job.error

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            errors = self._write_batch(batch)
        except BaseException as exc:  # never leave the waiting requests hanging
            errors = [exc] * len(batch)
        with self._lock:
            successor = self._queue[0] if self._queue else None
            self._busy = successor is not None
        for job, error in zip(batch, errors, strict=True):
            job.error, job.done = error, True
            job.ready.set()
        if successor is not None:
            successor.ready.set()

    def _write_batch(self, batch: list[GroupCommit._Job]) -> list[BaseException | None]:
        try:
            self._write([row for job in batch for row in job.rows])
            return [None] * len(batch)
        except (InterfaceError, OperationalError) as exc:
            return [exc] * len(batch)  # the connection or the server: the same for every request
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
            # The type only: the database's message may quote the candidate's text.
            logger.warning("LINE webhook: a shared insert of %d requests failed (%s)", len(batch), type(exc).__name__)
        errors: list[BaseException | None] = []
        for job in batch:
            try:
                self._write(job.rows)
                errors.append(None)
            except Exception as exc:
                errors.append(exc)
        return errors


def tidy_connection(connection: Any = None) -> None:
    """What Django's `request_finished` does at the end of a request, for the webhook's threads
    (`WebhookWSGI` skips that signal): this thread's connection is closed if it broke or has
    outlived CONN_MAX_AGE. Only where the webhook used the database (the group commit's leader
    after its statement, a cache miss after its query), and never inside a transaction."""
    connection = _connection() if connection is None else connection
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _insert_and_tidy(rows: list[dict[str, Any]]) -> None:
    connection = _connection()
    try:
        _insert(rows, connection)
    finally:
        tidy_connection(connection)


_group_commit = GroupCommit(_insert_and_tidy)


def store(company_id: int, events: list[Any]) -> None:
    """What `views.store` does: the rows committed (a webhookEventId already stored is skipped),
    then processing woken."""
    now = timezone.now()
    rows = [event_values(company_id, event, now) for event in events]
    connection = _connection()
    if connection.in_atomic_block:
        _insert(rows, connection)  # inside a transaction (tests): its commit is the caller's
        transaction.on_commit(partial(tasks.wake, company_id), using=connection.alias)
    else:
        _group_commit(rows)  # in autocommit: committed when this returns
        tasks.wake(company_id)
