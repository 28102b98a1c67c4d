"""The candidate list's 選考結果 filter: each candidate's current result at the step they are
at now, or none yet (e.g. 一次面接 + 未登録: who still needs a result)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from candidates.models import Candidate
from hrmos.models import Company
from results.models import Outcome, SelectionResult

KEY = "result"
NONE = "none"


def choices(company: Company) -> list[tuple[str, str]]:
    return [(NONE, "未登録"), *((value, str(label)) for value, label in Outcome.choices)]


def apply(queryset: QuerySet[Candidate], value: str) -> QuerySet[Candidate]:
    at_current_step = SelectionResult.objects.filter(candidate=OuterRef("pk"), stage=OuterRef("stage"), is_current=True)
    if value == NONE:
        return queryset.filter(~Exists(at_current_step))
    return queryset.filter(Exists(at_current_step.filter(outcome=value)))
