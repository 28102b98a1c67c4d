"""Hand-written SQL for the push hot path, where the ORM's query building costs ten times the query.

The app's fan-out benchmark measures itself against the emulator's push ceiling, so a push
must cost the emulator as little as possible. Everything else uses the ORM.
"""

import json
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from line_emulator.models import Channel, Friendship, LineUser, OutboxMessage, RetryKey

_CHANNEL_FIELDS = [field.attname for field in Channel._meta.concrete_fields]
_COLUMNS = ", ".join(connection.ops.quote_name(name) for name in _CHANNEL_FIELDS)
# Table and column names come from model metadata, never from a request.
_CHANNEL_SQL = f"SELECT {_COLUMNS} FROM {Channel._meta.db_table} WHERE channel_id = %s"  # noqa: S608
_RECIPIENTS_SQL = (
    f"SELECT u.user_id, u.persona_id, f.state FROM {LineUser._meta.db_table} u "  # noqa: S608
    f"LEFT JOIN {Friendship._meta.db_table} f ON f.persona_id = u.persona_id AND f.channel_id = %s "
    "WHERE u.provider_id = %s AND u.user_id IN ({marks})"
)
_USAGE_SQL = (
    f"UPDATE {Channel._meta.db_table} SET usage_month = %s, "  # noqa: S608
    "monthly_usage = CASE WHEN usage_month = %s THEN monthly_usage + %s ELSE %s END WHERE channel_id = %s"
)


def channel(channel_id: str) -> Channel | None:
    with connection.cursor() as cursor:
        cursor.execute(_CHANNEL_SQL, [channel_id])
        row = cursor.fetchone()
    return None if row is None else Channel.from_db("default", _CHANNEL_FIELDS, row)


def friendship_states(channel_id: str, provider_id: int, user_ids: list[str]) -> dict[str, tuple[str, str]]:
    """userId -> (persona_id, state) for the userIds of this provider; state "none" when never a friend."""
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        sql = _RECIPIENTS_SQL.format(marks=", ".join(["%s"] * len(chunk)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [channel_id, provider_id, *chunk])
            for user_id, persona_id, state in cursor.fetchall():
                found[user_id] = (persona_id, state or "none")
    return found


def add_usage(channel_id: str, month: str, count: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_USAGE_SQL, [month, month, count, count, channel_id])


_RETRY_TABLE = RetryKey._meta.db_table
_ACCEPTED_SQL = (
    f"SELECT request_id, sent_messages, accepted_at FROM {_RETRY_TABLE} "  # noqa: S608
    'WHERE channel_id = %s AND endpoint = %s AND "key" = %s'
)
_REMEMBER_SQL = (
    f'INSERT INTO {_RETRY_TABLE} (channel_id, endpoint, "key", request_id, sent_messages, accepted_at) '  # noqa: S608
    'VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (channel_id, endpoint, "key") DO UPDATE SET '
    "request_id = excluded.request_id, sent_messages = excluded.sent_messages, accepted_at = excluded.accepted_at"
)
_OUTBOX_COLUMNS = [
    "channel_id",
    "kind",
    "request_id",
    "retry_key",
    "to",
    "persona_id",
    "messages",
    "sent_messages",
    "delivered",
    "undelivered_reason",
    "notification_disabled",
    "created_at",
]
_OUTBOX_SQL = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
    OutboxMessage._meta.db_table,
    ", ".join(connection.ops.quote_name(name) for name in _OUTBOX_COLUMNS),
    ", ".join(["%s"] * len(_OUTBOX_COLUMNS)),
)


def accepted_retry_key(channel_id: str, endpoint: str, key: str) -> tuple[str, Any, datetime] | None:
    """(request_id, sent_messages, accepted_at) of a retry key already accepted, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_ACCEPTED_SQL, [channel_id, endpoint, key])
        row = cursor.fetchone()
    if row is None:
        return None
    request_id, sent_messages, accepted_at = row
    accepted = parse_datetime(accepted_at) if isinstance(accepted_at, str) else accepted_at
    if accepted is None:
        return None
    if timezone.is_naive(accepted):
        accepted = timezone.make_aware(accepted, UTC)
    return request_id, json.loads(sent_messages) if sent_messages else None, accepted


def remember_retry_key(channel_id: str, endpoint: str, key: str, request_id: str, sent: Any, at: datetime) -> None:
    values = [channel_id, endpoint, key, request_id, None if sent is None else json.dumps(sent), _when(at)]
    with connection.cursor() as cursor:
        cursor.execute(_REMEMBER_SQL, values)


def insert_outbox(rows: list[dict[str, Any]]) -> None:
    values = []
    for row in rows:
        row = {**row, "messages": json.dumps(row["messages"]), "sent_messages": json.dumps(row["sent_messages"])}
        row["created_at"] = _when(row["created_at"])
        values.append([row[name] for name in _OUTBOX_COLUMNS])
    with connection.cursor() as cursor:
        cursor.executemany(_OUTBOX_SQL, values)


def _when(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)
