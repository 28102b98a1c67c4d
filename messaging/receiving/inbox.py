"""The inbox (受信箱): candidates' replies across all candidates, and the unread bookkeeping.

Incoming messages (LINE and email) carry two marks:

- `read_at`: set by `mark_read` when a recruiter opens the candidate's timeline (every
  incoming message, since the timeline shows them all) or LINE tab (the LINE ones), or has it
  open when a reply arrives, or marks the candidate 対応済み.
- `handled_at` (対応済み): set for all of a candidate's incoming messages by
  `mark_handled`. A new reply makes the candidate 未対応 again.

The inbox lists one row per candidate, newest reply first, with the latest reply as preview.

Unread counts mean one thing everywhere (the navigation badge, the inbox's 未読 tab): how many
candidates have at least one unread reply, the rows a recruiter has to open. Three unread
messages from one student are one person waiting, not three.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest
from django.utils import timezone

from candidates.models import Candidate
from hrmos.models import AuditEvent, Company
from hrmos.tenancy import company_pk, request_company
from messaging import live
from messaging.models import Message

OPEN = "open"  # 未対応: at least one incoming message not marked 対応済み
UNREAD = "unread"  # 未読: at least one incoming message not read
HANDLED = "handled"  # 対応済み: every incoming message marked
STATES = (OPEN, UNREAD, HANDLED)
PAGE_SIZE = 30
REJECTED_EMAIL_ACTION = "inbound_email_rejected"  # audit action written by inbound_email.py


def _incoming(company: Company | int) -> QuerySet[Message]:
    return Message.objects.filter(company_id=company_pk(company), direction=Message.Direction.IN)


def unread_count(company: Company | int) -> int:
    """Candidates with a reply nobody has read yet (the navigation badge and the 未読 tab)."""
    return _incoming(company).filter(read_at__isnull=True).values("candidate_id").distinct().count()


def nav_badge(request: HttpRequest) -> int:
    try:
        return unread_count(request_company(request))
    except Http404:
        return 0


def mark_read(candidate: Candidate, *, channel: str | None = None, now: datetime | None = None) -> int:
    """The recruiter opened the candidate's timeline (every incoming message is read) or one
    channel's slice of it (`channel`, e.g. the LINE tab: that channel's messages are read)."""
    unread = _incoming(candidate.company_id).filter(candidate=candidate, read_at__isnull=True)
    if channel is not None:
        unread = unread.filter(channel=channel)
    marked = unread.update(read_at=now or timezone.now())
    if marked:
        live.changed(candidates=[candidate.pk], inboxes=[candidate.company_id])
    return marked


def mark_handled(candidate: Candidate, *, now: datetime | None = None) -> int:
    """対応済み: the candidate's incoming messages are handled (and read)."""
    now = now or timezone.now()
    incoming = _incoming(candidate.company_id).filter(candidate=candidate)
    read = incoming.filter(read_at__isnull=True).update(read_at=now)
    handled = incoming.filter(handled_at__isnull=True).update(handled_at=now)
    if read or handled:
        live.changed(candidates=[candidate.pk], inboxes=[candidate.company_id])
    return handled


def reopen(candidate: Candidate) -> int:
    """未対応に戻す: the candidate's latest incoming message is open again."""
    latest = _incoming(candidate.company_id).filter(candidate=candidate).order_by("-occurred_at", "-id").first()
    if latest is None or latest.handled_at is None:
        return 0
    reopened = Message.objects.filter(pk=latest.pk).update(handled_at=None)
    live.changed(inboxes=[candidate.company_id])
    return reopened


@dataclass
class InboxRow:
    candidate: Candidate
    latest: Message
    unread: int
    open: int
    total: int


def _grouped(company: Company, state: str) -> QuerySet:
    latest_id = (
        _incoming(company)
        .filter(candidate_id=OuterRef("candidate_id"))
        .order_by("-occurred_at", "-id")
        .values("id")[:1]
    )
    rows = (
        _incoming(company)
        .values("candidate_id")
        .annotate(
            latest_at=Max("occurred_at"),
            unread=Count("id", filter=Q(read_at__isnull=True)),
            open=Count("id", filter=Q(handled_at__isnull=True)),
            total=Count("id"),
            latest_id=Subquery(latest_id),
        )
    )
    if state == UNREAD:
        rows = rows.filter(unread__gt=0)
    elif state == HANDLED:
        rows = rows.filter(open=0)
    else:
        rows = rows.filter(open__gt=0)
    return rows.order_by("-latest_at", "-candidate_id")


def counts(company: Company) -> dict[str, int]:
    return {state: _grouped(company, state).count() for state in STATES}


def page(company: Company, state: str, number: str | int | None) -> tuple[Page, list[InboxRow]]:
    """One page of the inbox in `state`, as rows with their candidate and latest reply."""
    paginator = Paginator(_grouped(company, state if state in STATES else OPEN), PAGE_SIZE)
    current = paginator.get_page(number)
    grouped = list(current)
    candidates = (
        Candidate.objects.for_company(company)
        .filter(pk__in=[g["candidate_id"] for g in grouped])
        .select_related("stage")
    )
    by_pk = {c.pk: c for c in candidates}
    latest = Message.objects.prefetch_related("attachments").in_bulk([g["latest_id"] for g in grouped])
    rows = [
        InboxRow(
            candidate=by_pk[g["candidate_id"]],
            latest=latest[g["latest_id"]],
            unread=g["unread"],
            open=g["open"],
            total=g["total"],
        )
        for g in grouped
        if g["candidate_id"] in by_pk and g["latest_id"] in latest
    ]
    return current, rows


def rejected_emails(company: Company, limit: int = 10) -> QuerySet[AuditEvent]:
    """Recent emails to the company's reply address that matched no candidate (not stored)."""
    return AuditEvent.objects.filter(company=company, action=REJECTED_EMAIL_ACTION).order_by("-created_at")[:limit]
