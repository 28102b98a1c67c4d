"""Personal scheduling links (日程調整URL) and the scheduling request they belong to.

Only a token's SHA-256 is stored. Inside a message (`{{日程調整URL}}`) the token is the one
messaging derives from the delivery, the same on every retry, so `message_link` stores its
hash once; elsewhere (`issue_link`: the demo, tests, the benchmark) it is random. Every link
of a candidate for one schedule leads to the same `SchedulingRequest`, hence the same booking.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from candidates.models import Candidate
from hrmos.models import Company
from hrmos.personal_links import find_by_token, hash_token, new_token
from messaging.kinds import ComposeKind
from messaging.models import Kind
from messaging.placeholders import Placeholder, Recipient
from selection.models import Schedule, SchedulingLink, SchedulingRequest

logger = logging.getLogger(__name__)

SCHEDULE = "schedule"  # what a scheduling message carries in its context: {"schedule": pk}


def scheduling_url(token: str) -> str:
    return settings.SITE_URL + reverse("selection_public:book", args=[token])


def request_for(candidate: Candidate, schedule: Schedule, now: datetime) -> SchedulingRequest:
    """The candidate's request for this schedule, created the first time (asked again after a
    cancellation by the recruiter, it is open again)."""
    if candidate.company_id != schedule.company_id:
        raise ValueError("The candidate and the schedule belong to different companies.")
    try:
        with transaction.atomic():
            request, created = SchedulingRequest.objects.get_or_create(
                schedule=schedule, candidate=candidate, defaults={"company_id": schedule.company_id, "created_at": now}
            )
    except IntegrityError:  # created by a concurrent delivery
        request, created = SchedulingRequest.objects.get(schedule=schedule, candidate=candidate), False
    if not created and request.cancelled_at is not None:
        SchedulingRequest.objects.filter(pk=request.pk).update(cancelled_at=None)
        request.cancelled_at = None
    return request


def link_for_token(request: SchedulingRequest, token: str, now: datetime) -> SchedulingLink:
    link, _created = SchedulingLink.objects.get_or_create(
        token_hash=hash_token(token), defaults={"company_id": request.company_id, "request": request, "created_at": now}
    )
    return link


def issue_link(candidate: Candidate, schedule: Schedule, now: datetime) -> str:
    """A new personal link with a random token, as an absolute URL."""
    token = new_token()
    link_for_token(request_for(candidate, schedule, now), token, now)
    return scheduling_url(token)


def find_link(token: str) -> SchedulingLink | None:
    return find_by_token(
        SchedulingLink.objects.select_related("request__schedule__company", "request__candidate"), token
    )


def schedule_choices(company: Company) -> list[tuple[int, str]]:
    """The schedules a scheduling request can be about: those not ended."""
    schedules = Schedule.objects.for_company(company).filter(archived_at__isnull=True).order_by("-created_at")
    return [(schedule.pk, schedule.name) for schedule in schedules]


def message_link(recipient: Recipient, token: str, now: datetime) -> str:
    """`{{日程調整URL}}` as one message goes out: this recipient's link to the send's schedule."""
    schedule, candidate = recipient.scope.related(Schedule, SCHEDULE), recipient.candidate
    if schedule is not None and candidate is not None:
        link_for_token(request_for(candidate, schedule, now), token, now)
    else:  # gone since compose: the URL leads to the page saying the link is not valid
        logger.warning("Scheduling link not stored: schedule or candidate gone (delivery %s)", recipient.delivery_id)
    return scheduling_url(token)


def schedule_name(recipient: Recipient) -> str | None:
    schedule = recipient.scope.related(Schedule, SCHEDULE)
    return schedule.name if schedule else None


PLACEHOLDERS = (
    Placeholder(
        "日程調整名",
        "日程調整（面接枠）の名前",
        needs=SCHEDULE,
        needs_label="日程調整",
        value=schedule_name,
        per_candidate=False,
        order=60,
    ),
    Placeholder(
        "日程調整URL",
        "候補者ごとの面接日程の予約・変更URL（送信時に発行）",
        needs=SCHEDULE,
        needs_label="日程調整",
        link=message_link,
        order=61,
    ),
)

REQUEST_SUBJECT = "【{{企業名}}】{{日程調整名}}の日程調整のお願い"
REQUEST_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当の{{送信者名}}です。
{{日程調整名}}の日程を調整させていただきたく、ご連絡いたしました。
以下のURLから、ご都合のよい日時をお選びください（{{候補者氏名}} 様専用のURLです）。

{{日程調整URL}}

ご予約後の変更・キャンセルも、同じURLから行えます。
ご不明な点がございましたら、お気軽にお問い合わせください。
"""
REQUEST_KIND = ComposeKind(
    Kind.SCHEDULING_REQUEST,
    "日程調整のご依頼",
    context_key=SCHEDULE,
    context_label="日程調整",
    choices=schedule_choices,
    initial_subject=REQUEST_SUBJECT,
    initial_body=REQUEST_BODY,
)
