"""Reading answers: the per-form table (one row per respondent, one column per field) and its
CSV export, which writes exactly what the table holds.

Columns are the form's fields in order, followed by removed fields that still have answers
(「（削除済み）」), so a removed field's answers stay visible and exported.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from candidates.csv_io import BOM, Echo, safe_cell
from customforms.models import Form, FormAnswer, FormField, FormResponse

DELETED_SUFFIX = "（削除済み）"
FIXED_HEADERS = ("回答日時", "最終更新日時", "氏名", "フリガナ", "メールアドレス")
# Several answers to a multiple-choice field share one cell, one per line (options are
# single-line, so splitting the cell on newlines gives the answers back).
MULTIPLE_SEPARATOR = "\n"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Column:
    field: FormField

    @property
    def title(self) -> str:
        return self.field.label + (DELETED_SUFFIX if self.field.is_deleted else "")


def columns(form: Form) -> list[Column]:
    answered = Exists(FormAnswer.objects.filter(field=OuterRef("pk")))
    deleted = form.fields.filter(deleted_at__isnull=False).filter(answered).order_by("position", "id")
    return [Column(field) for field in [*form.live_fields(), *deleted]]


def responses(form: Form) -> QuerySet[FormResponse]:
    """Newest first, with the candidate and the answers in two queries per page."""
    return form.responses.select_related("candidate").prefetch_related("answers").order_by("-submitted_at", "-id")


def row_answers(response: FormResponse, table_columns: list[Column]) -> list[FormAnswer | None]:
    by_field = {answer.field_id: answer for answer in response.answers.all()}
    return [by_field.get(column.field.pk) for column in table_columns]


def cell_text(answer: FormAnswer | None) -> str:
    return MULTIPLE_SEPARATOR.join(answer.values) if answer is not None else ""


def _when(moment: object) -> str:
    return timezone.localtime(moment).strftime(DATETIME_FORMAT)  # type: ignore[arg-type]


def export_row(response: FormResponse, table_columns: list[Column]) -> list[str]:
    candidate = response.candidate
    fixed = [_when(response.submitted_at), _when(response.updated_at), candidate.name, candidate.kana, candidate.email]
    return [safe_cell(value) for value in fixed + [cell_text(a) for a in row_answers(response, table_columns)]]


def export_lines(form: Form, rows: Iterable[FormResponse]) -> Iterator[str]:
    """The CSV as lines: a BOM so Excel reads UTF-8, the header, one line per respondent."""
    table_columns = columns(form)
    writer = csv.writer(Echo())
    yield BOM + writer.writerow([safe_cell(title) for title in (*FIXED_HEADERS, *(c.title for c in table_columns))])
    for response in rows:
        yield writer.writerow(export_row(response, table_columns))
