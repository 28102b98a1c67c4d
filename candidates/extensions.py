"""Extension points the floors above use to plug into the candidate screens.

`candidates` cannot import `line_integration` or `messaging`; they call these functions from
their `AppConfig.ready()` instead. Each registry is keyed (filter key, template name, URL
name), so registering the same thing twice replaces it rather than showing it twice.

    from candidates import extensions

    extensions.register_list_filter(extensions.ListFilter(
        key="line", label="LINE", choices=line_status_choices, apply=filter_by_line_status))
    extensions.register_queryset_hook(lambda qs: qs.select_related("line_account"))
    extensions.register_row_badge("line_integration/_candidate_row_badge.html")
    extensions.register_detail_badge("line_integration/_candidate_detail_badge.html")
    extensions.register_bulk_action(extensions.BulkAction(
        label="メッセージを送信", url_name="messaging:compose_bulk", icon="envelope", order=10))
    extensions.register_detail_tab(extensions.DetailTab(
        key="timeline", label="タイムライン", url_name="messaging:timeline", order=20))
    extensions.register_detail_action(extensions.DetailAction(
        label="メッセージを送信", url_name="messaging:compose", icon="envelope", order=10))
    extensions.register_stage_action(extensions.StageAction(
        label="結果を登録", url_name="results:candidate_tab", icon="clipboard-check"))
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.http import urlencode

from hrmos.models import Company

QuerySetHook = Callable[[QuerySet], QuerySet]


@dataclass(frozen=True)
class ListFilter:
    """An extra <select> in the list's filter bar. Its value travels as the GET parameter `key`.

    `choices(company)` gives (value, label) pairs (an 「すべて」 option is added in front);
    `apply(queryset, value)` narrows the queryset for a chosen, non-empty value. A value not
    among the choices is ignored, so a stale bookmark cannot raise.
    """

    key: str
    label: str
    choices: Callable[[Company], list[tuple[str, str]]]
    apply: Callable[[QuerySet, str], QuerySet]
    order: int = 100


@dataclass(frozen=True)
class BulkAction:
    """A button in the list's bulk-action bar.

    It POSTs to `reverse(url_name)` either `ids` (one value per selected candidate) or
    `all_matching=1` with `query` (the list's filter query string). Resolve the selection with
    `candidates.listing.selected_candidates(request, request.POST)`.
    """

    label: str
    url_name: str
    icon: str = ""  # a bootstrap-icons name, e.g. "envelope"
    order: int = 100
    query: str = ""  # appended to the URL, e.g. "kind=event_invitation"

    @property
    def key(self) -> str:
        return f"{self.url_name}?{self.query}"


@dataclass(frozen=True)
class DetailTab:
    """A tab on the candidate detail page. `url_name` is reversed with `args=[candidate.pk]`;
    its view renders a template extending `candidates/detail_base.html` with the context from
    `candidates.detail.detail_context(request, candidate, active_tab=key)`."""

    key: str
    label: str
    url_name: str
    order: int = 100
    icon: str = ""


@dataclass(frozen=True)
class DetailAction:
    """A button in the detail header, a link to `reverse(url_name, args=[candidate.pk])`."""

    label: str
    url_name: str
    icon: str = ""
    order: int = 100
    style: str = "outline-primary"  # the Bootstrap btn-* variant
    query: str = ""  # appended to the URL, e.g. "kind=scheduling_request"

    @property
    def key(self) -> str:
        return f"{self.url_name}?{self.query}"


@dataclass(frozen=True)
class StageAction:
    """A link shown wherever a sibling app lists something that belongs to one candidate's
    selection step (an interview row, say). It goes to `reverse(url_name, args=[candidate.pk])`
    with `?<param>=<stage id>` so the page it opens starts on that step."""

    label: str
    url_name: str
    icon: str = ""
    order: int = 100
    param: str = "stage"
    fragment: str = ""  # e.g. "record-result", to scroll to the form


@dataclass(frozen=True)
class StageLink:
    """A `StageAction` resolved for one candidate and step, ready for a template."""

    label: str
    url: str
    icon: str


_list_filters: dict[str, ListFilter] = {}
_queryset_hooks: list[QuerySetHook] = []
_row_badges: list[str] = []
_detail_badges: list[str] = []
_bulk_actions: dict[str, BulkAction] = {}
_detail_tabs: dict[str, DetailTab] = {}
_detail_actions: dict[str, DetailAction] = {}
_stage_actions: dict[str, StageAction] = {}

# Names the list page already uses for its own GET parameters.
RESERVED_FILTER_KEYS = frozenset({"q", "stage", "year", "agent", "sort", "page", "per_page"})


def register_list_filter(list_filter: ListFilter) -> None:
    if list_filter.key in RESERVED_FILTER_KEYS:
        raise ValueError(f"Filter key {list_filter.key!r} is used by the candidate list itself.")
    _list_filters[list_filter.key] = list_filter


def register_queryset_hook(hook: QuerySetHook) -> None:
    if hook not in _queryset_hooks:
        _queryset_hooks.append(hook)


def register_row_badge(template_name: str) -> None:
    if template_name not in _row_badges:
        _row_badges.append(template_name)


def register_detail_badge(template_name: str) -> None:
    if template_name not in _detail_badges:
        _detail_badges.append(template_name)


def register_bulk_action(action: BulkAction) -> None:
    _bulk_actions[action.key] = action


def register_detail_tab(tab: DetailTab) -> None:
    _detail_tabs[tab.key] = tab


def register_detail_action(action: DetailAction) -> None:
    _detail_actions[action.key] = action


def register_stage_action(action: StageAction) -> None:
    _stage_actions[action.url_name] = action


def list_filters() -> list[ListFilter]:
    return sorted(_list_filters.values(), key=lambda f: (f.order, f.key))


def apply_queryset_hooks(queryset: QuerySet) -> QuerySet:
    for hook in _queryset_hooks:
        queryset = hook(queryset)
    return queryset


def row_badges() -> list[str]:
    return list(_row_badges)


def detail_badges() -> list[str]:
    return list(_detail_badges)


def bulk_actions() -> list[BulkAction]:
    return sorted(_bulk_actions.values(), key=lambda a: (a.order, a.label))


def detail_tabs() -> list[DetailTab]:
    return sorted(_detail_tabs.values(), key=lambda t: (t.order, t.key))


def detail_actions() -> list[DetailAction]:
    return sorted(_detail_actions.values(), key=lambda a: (a.order, a.label))


def stage_links(candidate_pk: int, stage_pk: int | None) -> list[StageLink]:
    """The registered stage actions for one candidate and step (none without a step)."""
    if stage_pk is None:
        return []
    links = []
    for action in sorted(_stage_actions.values(), key=lambda a: (a.order, a.label)):
        url = f"{reverse(action.url_name, args=[candidate_pk])}?{urlencode({action.param: stage_pk})}"
        if action.fragment:
            url += f"#{action.fragment}"
        links.append(StageLink(action.label, url, action.icon))
    return links


@contextmanager
def isolated() -> Iterator[None]:
    """For tests: registrations made inside the block are undone when it ends."""
    dicts: list[dict[str, Any]] = [_list_filters, _bulk_actions, _detail_tabs, _detail_actions, _stage_actions]
    lists: list[list[Any]] = [_queryset_hooks, _row_badges, _detail_badges]
    saved_dicts = [dict(registry) for registry in dicts]
    saved_lists = [list(registry) for registry in lists]
    try:
        yield
    finally:
        for registry, original in zip(dicts, saved_dicts, strict=True):
            registry.clear()
            registry.update(original)
        for registry_list, original_list in zip(lists, saved_lists, strict=True):
            registry_list[:] = original_list
