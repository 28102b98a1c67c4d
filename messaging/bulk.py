"""Set-based inserts for a send's rows.

`bulk_create` spends ~0.15 ms per row preparing every field of every object; at 10,000
recipients (10,000 messages + 20,000 deliveries) that alone is seconds. Here the values that
are the same for every row are prepared once, the varying ones per row, and the rows go in
with PostgreSQL's `COPY … FROM STDIN` (ids for auto-id rows are drawn from the sequence in
one query first), or elsewhere (SQLite in development) as multi-row `INSERT … VALUES (…), (…)
RETURNING id` batches.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models

# SQLite allows 32,766 parameters per statement; PostgreSQL 65,535.
MAX_PARAMS = 30_000


class Columns:
    """Column order for one model, with helpers to prepare values the way Django would."""

    def __init__(self, model: type[models.Model], names: Sequence[str]) -> None:
        self.model = model
        self.fields = [model._meta.get_field(name) for name in names]
        self.index = {name: i for i, name in enumerate(names)}

    def prep(self, name: str, value: Any) -> Any:
        return self.fields[self.index[name]].get_db_prep_save(value, connection)

    def __len__(self) -> int:
        return len(self.fields)


def insert(columns: Columns, rows: Sequence[Sequence[Any]], *, returning: Sequence[str] = ()) -> list[tuple]:
    """Insert prepared rows; returns the `returning` columns of each row, in insert order."""
    if not rows:
        return []
    quote = connection.ops.quote_name
    table = quote(columns.model._meta.db_table)
    names = ", ".join(quote(field.column) for field in columns.fields)
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    returned = ", ".join(quote(columns.model._meta.get_field(n).column) for n in returning)
    tail = f" RETURNING {returned}" if returning else ""
    per_batch = max(1, MAX_PARAMS // len(columns))
    results: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_batch):
            chunk = rows[start : start + per_batch]
            # Only quoted model metadata and %s placeholders are interpolated; values are parameters.
            sql = f"INSERT INTO {table} ({names}) VALUES " + ", ".join([row_sql] * len(chunk)) + tail  # noqa: S608
            cursor.execute(sql, [value for row in chunk for value in row])
            if returning:
                results.extend(tuple(r) for r in cursor.fetchall())
    return results


def _copy_field(value: Any) -> str:
    if value is None:
        return ""  # unquoted empty = NULL in COPY's CSV format
    if hasattr(value, "adapted"):  # psycopg2's Json wrapper from JSONField.get_db_prep_save
        value = json.dumps(value.adapted)
    elif isinstance(value, dict | list):
        value = json.dumps(value)
    return '"' + str(value).replace('"', '""') + '"'


def _copy(columns: Columns, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(_copy_field(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    quote = connection.ops.quote_name
    table, fields = quote(columns.model._meta.db_table), ", ".join(quote(n) for n in names)
    sql = f"COPY {table} ({fields}) FROM STDIN WITH (FORMAT csv)"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, buffer)  # the psycopg2 cursor under Django's wrapper


def insert_rows(columns: Columns, rows: Sequence[Sequence[Any]]) -> None:
    """Insert prepared rows (the model's primary key among the columns)."""
    if connection.vendor == "postgresql" and rows:
        _copy(columns, [f.column for f in columns.fields], rows)
    else:
        insert(columns, rows)


def insert_with_ids(columns: Columns, rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert prepared rows of an auto-id model (id not among the columns); their ids, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return [row[0] for row in insert(columns, rows, returning=["id"])]
    table = columns.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        ids = [row[0] for row in cursor.fetchall()]
    _copy(columns, ["id", *(f.column for f in columns.fields)], [[pk, *row] for pk, row in zip(ids, rows, strict=True)])
    return ids


def update_rows(model: type[models.Model], objects: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Write `field_names` of many objects in one statement per batch.

    PostgreSQL: `UPDATE t SET a = v.a, … FROM (VALUES (…), (…)) AS v(pk, a, …) WHERE t.pk = v.pk`,
    one row of parameters per object (Django's bulk_update builds a CASE per field per row,
    which costs more than the pushes it records). Elsewhere: `bulk_update`.
    """
    if not objects:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objects, field_names, batch_size=500)
        return
    quote = connection.ops.quote_name
    pk = model._meta.pk
    fields = [model._meta.get_field(name) for name in field_names]
    columns = [pk, *fields]
    casts = ", ".join(f"%s::{field.db_type(connection)}" for field in columns)
    aliases = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    table = quote(model._meta.db_table)
    per_batch = max(1, MAX_PARAMS // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(objects), per_batch):
            chunk = objects[start : start + per_batch]
            values = ", ".join([f"({casts})"] * len(chunk))
            sql = (
                f"UPDATE {table} AS t SET {assignments} FROM (VALUES {values}) AS v({aliases}) "  # noqa: S608
                f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}"
            )
            params = [
                field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in chunk for field in columns
            ]
            cursor.execute(sql, params)
