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


def column_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The model's field `name`, which must have a column (a reverse relation has none)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} has no column of its own")
    return field


def column_name(field: models.Field[Any, Any]) -> str:
    """The field's column: every field that `column_field` hands out has one."""
    if field.column is None:
        raise ValueError(f"{field} has no column of its own")
    return field.column


class Columns:
    """Column order for one model, with helpers to prepare values the way Django would."""

    def __init__(self, model: type[models.Model], names: Sequence[str]) -> None:
        self.model = model
        self.fields = [column_field(model, name) for name in names]
        self.column_names = [column_name(field) for field in self.fields]
        self.index = {name: i for i, name in enumerate(names)}

    def prep(self, name: str, value: Any) -> Any:
        return self.fields[self.index[name]].get_db_prep_save(value, connection)

    def __len__(self) -> int:
        return len(self.fields)


# Values for these field types go to the database as given (text, numbers, a foreign key's id);
# the others (UUIDs on SQLite, datetimes, JSON) are prepared the way Django would. Exact classes,
# not isinstance: a subclass may change the value on its way in (an EncryptedTextField is a
# TextField that encrypts it), so it is prepared like any other field.
_AS_GIVEN: frozenset[type[models.Field[Any, Any]]] = frozenset(
    {
        models.CharField,
        models.EmailField,
        models.TextField,
        models.IntegerField,
        models.SmallIntegerField,
        models.BigIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.PositiveBigIntegerField,
        models.BooleanField,
        models.ForeignKey,
        models.OneToOneField,
    }
)
_AUTO_IDS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


class Rows(Columns):
    """Rows for every concrete column of a model (but an auto-increment id), built by field name.

    Values that are the same for the whole insert (`fixed`) are prepared once; each row then
    names its own values (`row(candidate=…, body=…)`), and every other column gets what the ORM
    would insert for it (the field's default, "" for text, NULL where allowed). So a field added
    to the model later needs no change here; one the ORM could not insert either (NOT NULL, no
    default) makes building the rows fail at once, naming it.
    """

    def __init__(self, model: type[models.Model], *, fixed: dict[str, Any], per_row: Sequence[str]) -> None:
        fields = [f for f in model._meta.concrete_fields if not isinstance(f, _AUTO_IDS)]
        super().__init__(model, [f.name for f in fields])
        unknown = (set(fixed) | set(per_row)) - set(self.index)
        if unknown:
            raise ValueError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
        self.template: list[Any] = []
        for f in self.fields:
            if f.name in per_row:
                self.template.append(None)
            elif f.name in fixed:
                self.template.append(self.prep(f.name, fixed[f.name]))
            else:
                default = f.get_default()  # as the ORM would insert it: "" for text without a default
                if default is None and not f.null:
                    raise ValueError(f"{model.__name__}.{f.name} is NOT NULL without a default: give it a value")
                self.template.append(self.prep(f.name, default))
        self._preparing = [None if type(f) in _AS_GIVEN else f for f in self.fields]

    def row(self, **values: Any) -> list[Any]:
        row = self.template.copy()
        for name, value in values.items():
            i = self.index[name]
            field = self._preparing[i]
            row[i] = value if field is None or value is None else field.get_db_prep_save(value, connection)
        return row


def insert(columns: Columns, rows: Sequence[Sequence[Any]], *, returning: Sequence[str] = ()) -> list[tuple]:
    """Insert prepared rows; returns the `returning` columns of each row, in insert order."""
    if not rows:
        return []
    quote = connection.ops.quote_name
    table = quote(columns.model._meta.db_table)
    names = ", ".join(quote(column) for column in columns.column_names)
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    returned = ", ".join(quote(column_name(column_field(columns.model, n))) for n in returning)
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
        _copy(columns, columns.column_names, rows)
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
    _copy(columns, ["id", *columns.column_names], [[pk, *row] for pk, row in zip(ids, rows, strict=True)])
    return ids


def update_rows(
    model: type[models.Model],
    objects: Sequence[models.Model],
    field_names: Sequence[str],
    *,
    where: dict[str, Any] | None = None,
) -> int:
    """Write `field_names` of many objects in one statement per batch; returns the rows written.

    `where` adds conditions on the rows' current values (e.g. "still claimed by us"): rows that
    no longer match are left alone and not counted.

    PostgreSQL: `UPDATE t SET a = v.a, … FROM (VALUES (…), (…)) AS v(pk, a, …) WHERE t.pk = v.pk`,
    one row of parameters per object (Django's bulk_update builds a CASE per field per row,
    which costs more than the pushes it records). Elsewhere: `bulk_update`.
    """
    if not objects:
        return 0
    where = where or {}
    if connection.vendor != "postgresql":
        return model._default_manager.filter(**where).bulk_update(objects, field_names, batch_size=500)
    quote = connection.ops.quote_name
    pk = model._meta.pk
    fields = [column_field(model, name) for name in field_names]
    columns = [pk, *fields]
    names = [quote(column_name(field)) for field in columns]  # the primary key's first
    casts = ", ".join(f"%s::{field.db_type(connection)}" for field in columns)
    aliases = ", ".join(names)
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    conditions = [(column_field(model, name), value) for name, value in where.items()]
    extra = "".join(f" AND t.{quote(column_name(field))} = %s" for field, _ in conditions)
    extra_params = [field.get_db_prep_save(value, connection) for field, value in conditions]
    table = quote(model._meta.db_table)
    per_batch = max(1, MAX_PARAMS // len(columns))
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), per_batch):
            chunk = objects[start : start + per_batch]
            values = ", ".join([f"({casts})"] * len(chunk))
            sql = (
                f"UPDATE {table} AS t SET {assignments} FROM (VALUES {values}) AS v({aliases}) "  # noqa: S608
                f"WHERE t.{names[0]} = v.{names[0]}{extra}"
            )
            params = [
                field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in chunk for field in columns
            ]
            cursor.execute(sql, params + extra_params)
            written += cursor.rowcount
    return written
