"""The candidate list's filters by event: 「イベント」 (an event, or one of its dates) and
「イベント参加状況」 (申込済み・キャンセル・出席・欠席). Both read the same application row: a
candidate has at most one per event, joined once under the alias below, so 「この日程で出席」
means exactly that, not 「この日程に申込」 and 「どこかで出席」."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Exists, FilteredRelation, OuterRef, Q, QuerySet
from django.utils import timezone

from candidates.extensions import ListFilter
from events.models import Application, Event, EventDate
from hrmos.models import Company

EVENT_KEY = "event"
STATUS_KEY = "event_status"
ALIAS = "event_application"
MAX_EVENTS = 30


def event_choices(company: Company) -> list[tuple[str, str]]:
    """The latest events, each followed by its dates."""
    events = list(Event.objects.for_company(company).order_by("-created_at", "-id")[:MAX_EVENTS])
    dates: dict[int, list[EventDate]] = {}
    for date in EventDate.objects.filter(event__in=events).order_by("starts_at", "pk"):
        dates.setdefault(date.event_id, []).append(date)
    choices = []
    for event in events:
        choices.append((f"e{event.pk}", event.title))
        for date in dates.get(event.pk, []):
            label = f"{timezone.localtime(date.starts_at):%m/%d %H:%M}"
            choices.append((f"d{date.pk}", f"└ {label} {event.title}{'（中止）' if date.is_cancelled else ''}"))
    return choices


def status_choices(company: Company) -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in Application.Status.choices]


def _parse(value: str) -> Q | None:
    kind, number = value[:1], value[1:]
    if kind not in ("e", "d") or not number.isdigit() or len(number) > 18:
        return None
    return Q(event_applications__event_id=int(number)) if kind == "e" else Q(event_applications__date_id=int(number))


def by_event(queryset: QuerySet, value: str) -> QuerySet:
    condition = _parse(value)
    if condition is None:
        return queryset
    return queryset.alias(**{ALIAS: FilteredRelation("event_applications", condition=condition)}).filter(
        **{f"{ALIAS}__isnull": False}
    )


def by_status(queryset: QuerySet, value: str) -> QuerySet:
    if value not in Application.Status.values:
        return queryset
    if ALIAS in getattr(queryset.query, "_filtered_relations", {}):
        return queryset.filter(**{f"{ALIAS}__status": value})
    return queryset.filter(Exists(Application.objects.filter(candidate=OuterRef("pk"), status=value)))


def narrow(queryset: QuerySet, filters: Mapping[str, str]) -> QuerySet:
    """The two filters applied as the list applies them (event first)."""
    if value := filters.get(EVENT_KEY):
        queryset = by_event(queryset, value)
    if value := filters.get(STATUS_KEY):
        queryset = by_status(queryset, value)
    return queryset


FILTERS = (
    ListFilter(key=EVENT_KEY, label="イベント", choices=event_choices, apply=by_event, order=70),
    ListFilter(key=STATUS_KEY, label="イベント参加状況", choices=status_choices, apply=by_status, order=71),
)
