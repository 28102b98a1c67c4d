"""The candidate list's query: search, filters, extension filters, sorting, pagination.

Public for the floors above: `filtered_candidates()` turns the list's query string into the
same rows the recruiter sees, and `selected_candidates()` resolves a bulk-action POST (chosen
ids, or "all N matching the filter"), so a bulk send reaches exactly those candidates.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import F, OrderBy, Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from candidates import extensions
from candidates.models import Candidate
from candidates.search import MIN_SUBSTRING_LENGTH, search_terms
from hrmos.tenancy import scoped
from hrmos.text import query_dict

DEFAULT_SORT = "-created"
# key → (label, ordering). Every ordering ends in a unique column so pages never overlap.
SORTS: dict[str, tuple[str, list[str | OrderBy]]] = {
    "-created": ("登録日が新しい順", ["-created_at", "-id"]),
    "created": ("登録日が古い順", ["created_at", "id"]),
    "kana": ("フリガナ順（ア→ン）", ["last_name_kana", "first_name_kana", "id"]),
    "-kana": ("フリガナ順（ン→ア）", ["-last_name_kana", "-first_name_kana", "-id"]),
    "year": ("卒業年度が早い順", [F("graduation_year").asc(nulls_last=True), "-created_at", "-id"]),
    "-year": ("卒業年度が遅い順", [F("graduation_year").desc(nulls_last=True), "-created_at", "-id"]),
    "stage": ("選考ステップ順", ["stage__position", "-created_at", "-id"]),
    "-stage": ("選考ステップ逆順", ["-stage__position", "-created_at", "-id"]),
}
PER_PAGE_CHOICES = (20, 50, 100)
DEFAULT_PER_PAGE = 50
AGENT_CHOICES = (("yes", "エージェント経由"), ("no", "エージェントなし"))
NO_YEAR = "none"


def graduation_year_choices(today: date | None = None) -> list[int]:
    """The years the filter offers: new-graduate recruiting looks a few years ahead."""
    year = (today or timezone.localdate()).year
    return list(range(year - 1, year + 5))


@dataclass
class ListParams:
    q: str = ""
    stage: int | None = None
    year: int | str | None = None  # a year, NO_YEAR, or None for any
    agent: str = ""
    sort: str = DEFAULT_SORT
    per_page: int = DEFAULT_PER_PAGE
    extra: dict[str, str] = field(default_factory=dict)  # extension filter key → value

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.stage or self.year or self.agent or self.extra)


def _int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 9 else None


def parse_params(params: QueryDict) -> ListParams:
    """Unknown or malformed values are dropped, never an error: URLs get bookmarked and edited."""
    year_raw = params.get("year", "")
    per_page = _int_or_none(params.get("per_page"))
    sort = params.get("sort", DEFAULT_SORT)
    agent = params.get("agent", "")
    return ListParams(
        q=params.get("q", "").strip()[:200],
        stage=_int_or_none(params.get("stage")),
        year=NO_YEAR if year_raw == NO_YEAR else _int_or_none(year_raw),
        agent=agent if agent in dict(AGENT_CHOICES) else "",
        sort=sort if sort in SORTS else DEFAULT_SORT,
        per_page=per_page if per_page in PER_PAGE_CHOICES else DEFAULT_PER_PAGE,
        extra={f.key: value for f in extensions.list_filters() if (value := params.get(f.key))},
    )


def search_condition(query: str) -> Q:
    """Every whitespace-separated term must match (so 「山田 花子」 finds 山田花子).

    A term of 3+ characters matches anywhere in the name, kana, email or university; the
    PostgreSQL trigram index serves it. A 1–2 character term matches the start of one of those
    fields instead: `LIKE '% 山%'` still yields a trigram ("  山") the index can use, whereas
    `'%山%'` would scan every row, and 「山」 finding 山田 and 山本 but not 小山 is what a recruiter
    typing a surname expects.
    """
    condition = Q()
    for term in search_terms(query):
        if len(term) >= MIN_SUBSTRING_LENGTH:
            condition &= Q(search_text__contains=term)
        else:
            condition &= Q(search_text__contains=" " + term)
    return condition


def apply_params(queryset: QuerySet[Candidate], params: ListParams) -> QuerySet[Candidate]:
    if params.q:
        queryset = queryset.filter(search_condition(params.q))
    if params.stage:
        queryset = queryset.filter(stage_id=params.stage)
    if params.year == NO_YEAR:
        queryset = queryset.filter(graduation_year__isnull=True)
    elif params.year:
        queryset = queryset.filter(graduation_year=params.year)
    if params.agent == "yes":
        queryset = queryset.filter(agent__isnull=False)
    elif params.agent == "no":
        queryset = queryset.filter(agent__isnull=True)
    for list_filter in extensions.list_filters():
        value = params.extra.get(list_filter.key)
        if value:
            queryset = list_filter.apply(queryset, value)
    return queryset.order_by(*SORTS[params.sort][1])


def base_queryset(request: HttpRequest) -> QuerySet[Candidate]:
    """The recruiter's candidates with what every row shows, fetched in the same query."""
    return extensions.apply_queryset_hooks(scoped(request, Candidate).select_related("stage", "agent"))


def filtered_candidates(request: HttpRequest, params: QueryDict) -> QuerySet[Candidate]:
    """The rows the list shows for this query string, across all pages, in list order."""
    return apply_params(base_queryset(request), parse_params(params))


def selected_candidates(request: HttpRequest, post_data: QueryDict) -> QuerySet[Candidate]:
    """The candidates a bulk-action POST means.

    `all_matching=1` with `query=<the list's query string>` means every row matching that
    filter; otherwise the `ids` values. Scoped: another company's ids simply match nothing.
    """
    if post_data.get("all_matching") == "1":
        return filtered_candidates(request, query_dict(post_data.get("query", "")))
    ids = {int(value) for value in post_data.getlist("ids") if value.isdigit() and len(value) <= 18}
    return base_queryset(request).filter(pk__in=ids).order_by(*SORTS[DEFAULT_SORT][1])


def paginate(queryset: QuerySet[Candidate], params: ListParams, page_number: str | None) -> Page:
    """One page of the list, fetched as a deferred join.

    The page's ids come first from the narrow indexes (an index-only scan, even deep into
    the list or when sorting by stage), then just those rows are loaded with their relations.
    Two queries plus the count, whatever the page size or number.
    """
    # A page of ids at first: its object_list is swapped for the rows below.
    page: Page[Any] = Paginator(queryset.values_list("pk", flat=True), params.per_page).get_page(page_number)
    ids = list(page.object_list)
    rows = {candidate.pk: candidate for candidate in queryset.order_by().filter(pk__in=ids)}
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page
