"""Personal application links (イベント申込URL) and the placeholders a message about an event
carries.

Only a token's SHA-256 is stored. Inside a message (`{{イベント申込URL}}`) the token is
messaging's, derived from the delivery and the same on every retry of it, so `message_link`
stores its hash once; elsewhere (`issue_link`: the demo, the recruiter's copy) it is
`secrets.token_urlsafe(32)`. A link is valid until the event's last deadline (application or
cancellation) of a date that is still held, so moving a deadline moves every link's expiry.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Max, QuerySet
from django.urls import reverse
from django.utils import dateformat, timezone

from candidates.models import Candidate
from events.models import Application, Event, EventDate, EventLink
from hrmos import personal_links
from hrmos.models import Company
from hrmos.personal_links import find_by_token
from messaging.placeholders import Placeholder, Recipient

logger = logging.getLogger(__name__)

EVENT = "event"  # what a message about an event carries in its context: {"event": pk}
APPLICATION = "application"  # an automatic email about one application: {"application": pk}
WEEKDAYS = "月火水木金土日"


def personal_url(token: str) -> str:
    return settings.SITE_URL + reverse("events_public:personal", args=[token])


def public_url(event: Event) -> str:
    return settings.SITE_URL + reverse("events_public:public", args=[event.public_id])


def _same_company(candidate: Candidate, event: Event) -> None:
    if candidate.company_id != event.company_id:
        raise ValueError("The candidate and the event belong to different companies.")


def create_link(candidate: Candidate, event: Event, now: datetime) -> tuple[EventLink, str]:
    """A new link row with a random token, and the token (which is not stored)."""
    _same_company(candidate, event)
    return personal_links.create_link(EventLink, now, company_id=event.company_id, event=event, candidate=candidate)


def issue_link(candidate: Candidate, event: Event, now: datetime) -> str:
    return personal_url(create_link(candidate, event, now)[1])


def link_for_token(candidate: Candidate, event: Event, token: str, now: datetime) -> EventLink:
    """The link row of a given token, created the first time (a retried delivery brings the
    same token again and must find the link it minted before)."""
    _same_company(candidate, event)
    return personal_links.link_for_token(
        EventLink, token, now, company_id=event.company_id, event=event, candidate=candidate
    )


def find_link(token: str) -> EventLink | None:
    return find_by_token(EventLink.objects.select_related("event__company", "candidate"), token)


def link_expires_at(event: Event) -> datetime | None:
    """The last deadline of the event's dates that are not cancelled; None when there is none."""
    deadlines = EventDate.objects.filter(event=event, cancelled_at__isnull=True).aggregate(
        apply=Max("application_deadline"), cancel=Max("cancel_deadline")
    )
    found = [value for value in deadlines.values() if value is not None]
    return max(found) if found else None


def link_is_valid(event: Event, now: datetime) -> bool:
    expires = link_expires_at(event)
    return expires is not None and now < expires


# ---------------------------------------------------------------------------- texts


def when_text(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{dateformat.format(local, 'Y年n月j日')}（{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def date_text(date: EventDate) -> str:
    """「2026年12月10日（木）14:00〜16:00」; a date on two days shows the end in full."""
    start, end = timezone.localtime(date.starts_at), timezone.localtime(date.ends_at)
    tail = f"{end:%H:%M}" if start.date() == end.date() else when_text(date.ends_at)
    return f"{when_text(date.starts_at)}〜{tail}"


def deadline_text(moment: datetime) -> str:
    return when_text(moment) + "まで"


def open_dates(event: Event, now: datetime) -> QuerySet[EventDate]:
    return EventDate.objects.filter(event=event, cancelled_at__isnull=True, application_deadline__gt=now)


def event_choices(company: Company) -> list[tuple[int, str]]:
    """Events a candidate can apply to now (published, a date still taking applications)."""
    now = timezone.now()
    events = Event.objects.for_company(company).filter(
        is_published=True, dates__cancelled_at__isnull=True, dates__application_deadline__gt=now
    )
    return [(event.pk, event.title) for event in events.distinct().order_by("-created_at", "-id")]


def all_event_choices(company: Company) -> list[tuple[int, str]]:
    return [(event.pk, event.title) for event in Event.objects.for_company(company).order_by("-created_at", "-id")]


# ---------------------------------------------------------------------------- placeholders


def event_of(recipient: Recipient) -> Event | None:
    return recipient.scope.related(Event, EVENT)


def application_of(recipient: Recipient) -> Application | None:
    """The application the message is about: the one named in the send's context (an
    automatic email), else this recipient's application to the event, whatever its status."""
    if recipient.candidate_id is None:
        return None
    cache = recipient.scope._cache  # per send: the placeholders of one recipient ask in turn
    key = _cached(recipient.candidate_id)
    if key not in cache and recipient.candidate_id in recipient.scope.candidate_ids:
        _load_applications(recipient, cache)
    if key not in cache:
        cache[key] = _find_application(recipient, recipient.candidate_id)
    return cache[key]


def _load_applications(recipient: Recipient, cache: dict[tuple[str, str], Any]) -> None:
    """Every recipient's application to the send's event in one query (None for those who
    have none); a send naming one application is left to `_find_application`."""
    event = event_of(recipient)
    if event is None or recipient.scope.context.get(APPLICATION) is not None:
        return
    candidate_ids = recipient.scope.candidate_ids
    found = Application.objects.filter(
        company=recipient.company, event=event, candidate_id__in=candidate_ids
    ).select_related("date__event")
    by_candidate = {application.candidate_id: application for application in found}
    for candidate_id in candidate_ids:
        cache[_cached(candidate_id)] = by_candidate.get(candidate_id)


def _cached(candidate_id: int) -> tuple[str, str]:
    return ("events.Application", str(candidate_id))


def _find_application(recipient: Recipient, candidate_id: int) -> Application | None:
    applications = Application.objects.filter(company=recipient.company, candidate_id=candidate_id)
    pk = recipient.scope.context.get(APPLICATION)
    if isinstance(pk, int):
        return applications.filter(pk=pk).select_related("date__event").first()
    event = event_of(recipient)
    if event is None:
        return None
    return applications.filter(event=event).select_related("date__event").first()


def event_title(recipient: Recipient) -> str | None:
    event = event_of(recipient)
    return event.title if event else None


def event_when(recipient: Recipient) -> str | None:
    """The recipient's date; for someone who has not applied, every date still open."""
    application = application_of(recipient)
    if application is not None:
        return date_text(application.date)
    event = event_of(recipient)
    if event is None:
        return None
    dates = list(open_dates(event, timezone.now())) or list(event.dates.filter(cancelled_at__isnull=True))
    return "\n".join(f"・{date_text(date)}" for date in dates) or "（日程は追ってご案内します）"


def event_venue(recipient: Recipient) -> str | None:
    application = application_of(recipient)
    if application is not None:
        return application.date.venue() or "（追ってご案内します）"
    event = event_of(recipient)
    if event is None:
        return None
    return event.venue() or "（追ってご案内します）"


def event_belongings(recipient: Recipient) -> str | None:
    event = event_of(recipient)
    if event is None:
        return None
    return event.belongings or "特にありません"


def message_link(recipient: Recipient, token: str, now: datetime) -> str:
    """`{{イベント申込URL}}` as one email or LINE message goes out: this recipient's link for the
    send's event, under the token messaging derived from the delivery."""
    event, candidate = event_of(recipient), recipient.candidate
    if event is not None and candidate is not None:
        link_for_token(candidate, event, token, now)
    else:  # gone since compose: the URL leads to the page saying the link is not valid
        logger.warning("Event link not stored: event or candidate gone (delivery %s)", recipient.delivery_id)
    return personal_url(token)


PLACEHOLDERS = (
    Placeholder(
        "イベント名",
        "イベントの名前",
        needs=EVENT,
        needs_label="イベント",
        value=event_title,
        per_candidate=False,
        order=40,
    ),
    Placeholder(
        "開催日時",
        "申し込んだ日程（未申込の候補者には受付中の日程の一覧）",
        needs=EVENT,
        needs_label="イベント",
        value=event_when,
        order=41,
    ),
    Placeholder(
        "会場", "イベントの会場またはオンラインURL", needs=EVENT, needs_label="イベント", value=event_venue, order=42
    ),
    Placeholder(
        "持ち物",
        "イベントの持ち物",
        needs=EVENT,
        needs_label="イベント",
        value=event_belongings,
        per_candidate=False,
        order=43,
    ),
    Placeholder(
        "イベント申込URL",
        "候補者ごとのイベント申込URL（申込・日程変更・キャンセル。送信時に発行）",
        needs=EVENT,
        needs_label="イベント",
        link=message_link,
        order=44,
    ),
)
