"""What changes events: recruiters building them, candidates (or a recruiter for them)
applying, changing date and cancelling, attendance. One verb each, each in a transaction.

Seats: a seat is taken by one conditional UPDATE of the date's row (taken < capacity, open),
the last statement of the application's transaction, so concurrent applicants queue on that
row only for their commit and the last seat goes to exactly one of them (see below).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from candidates.models import Candidate, Stage
from events import notices
from events.models import Application, Event, EventDate
from hrmos.audit import log_action
from hrmos.models import Company, User

logger = logging.getLogger(__name__)

COPY_SUFFIX = "のコピー"


class EventError(Exception):
    """A change that cannot be made; the message is for the person who asked (Japanese)."""


class ApplyRefused(EventError):
    FULL = "この日程は満席です。別の日程をお選びください。"
    CLOSED = "この日程の申込受付は終了しました。"
    DATE_CANCELLED = "この日程は開催中止になりました。別の日程をお選びください。"
    ALREADY = "すでにこのイベントにお申し込み済みです。日程の変更はお申し込み内容の画面から行えます。"
    CANCEL_CLOSED = "キャンセルの受付期限を過ぎています。採用担当者にお問い合わせください。"
    NOT_APPLIED = "お申し込みはありません。"
    SAME_DATE = "すでにこの日程でお申し込み済みです。"
    NOT_PUBLISHED = "このイベントは現在お申し込みを受け付けていません。"


# ---------------------------------------------------------------------------- events


@dataclass
class DateInput:
    """One 日程 row of the event form: `pk` None for a new date."""

    starts_at: datetime
    ends_at: datetime
    capacity: int
    application_deadline: datetime
    cancel_deadline: datetime
    place: str = ""
    pk: int | None = None


DATE_FIELDS = ("starts_at", "ends_at", "capacity", "application_deadline", "cancel_deadline", "place")


@transaction.atomic
def save_event(
    company: Company,
    user: User,
    event: Event | None,
    fields: dict[str, Any],
    dates: list[DateInput],
    deleted_ids: Sequence[int] = (),
) -> Event:
    """Create or update an event and its dates. Refuses (EventError, nothing saved) a
    capacity below the seats taken and the removal of a date that has applications."""
    if event is None:
        event = Event(company=company, created_by=user)
    else:
        event = Event.objects.select_for_update().get(pk=event.pk, company=company)
    for name, value in fields.items():
        setattr(event, name, value)
    event.save()
    existing = {date.pk: date for date in EventDate.objects.select_for_update().filter(event=event).order_by("pk")}
    for pk in deleted_ids:
        date = existing.get(pk)
        if date is None:
            continue  # deleted already
        if date.applications.exists():
            raise EventError(
                f"{date_label(date)}には申込があるため削除できません。開催を取りやめる場合は「開催中止」にしてください。"
            )
        date.delete()
    for row in dates:
        if row.pk is None:
            EventDate.objects.create(company=company, event=event, **{n: getattr(row, n) for n in DATE_FIELDS})
            continue
        date = existing.get(row.pk)
        if date is None:
            raise EventError("日程が見つかりません。画面を更新してやり直してください。")
        if row.capacity < date.taken:
            raise EventError(f"{date_label(date)}の定員は、現在の申込数（{date.taken}名）より少なくできません。")
        for name in DATE_FIELDS:
            setattr(date, name, getattr(row, name))
        date.save()
    if not EventDate.objects.filter(event=event).exists():
        raise EventError("日程を1つ以上登録してください。")
    log_action(company, user, "event.save", event.title, event=event.pk)
    return event


def date_label(date: EventDate) -> str:
    return f"{timezone.localtime(date.starts_at):%m/%d %H:%M}の日程"


@transaction.atomic
def copy_event(event: Event, user: User, now: datetime) -> Event:
    """A new unpublished event with the same texts and the dates still to come (no seats taken)."""
    copy = Event.objects.create(
        company_id=event.company_id,
        created_by=user,
        title=(event.title + COPY_SUFFIX)[: Event._meta.get_field("title").max_length],
        description=event.description,
        place=event.place,
        online_url=event.online_url,
        belongings=event.belongings,
        contact=event.contact,
        reminder_enabled=event.reminder_enabled,
    )
    EventDate.objects.bulk_create(
        EventDate(company_id=event.company_id, event=copy, **{n: getattr(date, n) for n in DATE_FIELDS})
        for date in event.dates.filter(starts_at__gt=now, cancelled_at__isnull=True)
    )
    return copy


@transaction.atomic
def delete_event(event: Event, user: User) -> None:
    event = Event.objects.select_for_update().get(pk=event.pk)
    count = event.applications.count()
    if count:
        raise EventError(f"このイベントには申込が{count}件あるため削除できません。公開を停止してください。")
    log_action(event.company, user, "event.delete", event.title, event=event.pk)
    event.delete()


def cancel_date(date: EventDate, user: User, now: datetime) -> int:
    """開催中止: the date takes no more applications, then each of its applications is cancelled
    and its candidate told by the cancellation email (its calendar file removes the entry).
    One application per transaction, locked application first like every other change, so a
    candidate cancelling at the same moment never deadlocks with it; run again, it finishes
    what an interrupted run left. Returns how many applications it cancelled."""
    with transaction.atomic():
        stopped = EventDate.objects.filter(pk=date.pk, cancelled_at__isnull=True).update(cancelled_at=now)
    pending = list(
        Application.objects.filter(date_id=date.pk, status__in=Application.LIVE).values_list("pk", flat=True)
    )
    if not stopped and not pending:
        raise EventError("この日程はすでに開催中止になっています。")
    cancelled = sum(_cancel_for_date(pk, date.pk, now) for pk in pending)
    log_action(date.company, user, "event.cancel_date", str(date), event=date.event_id, date=date.pk)
    return cancelled


def _cancel_for_date(application_pk: int, date_pk: int, now: datetime) -> bool:
    with transaction.atomic():
        application = _locked(application_pk)
        if application.date_id != date_pk or not application.is_live:
            return False
        _set_status(application, Application.Status.CANCELLED, now)
        notices.send_confirmation(application, notices.DATE_CANCELLED)
        _free_seat(application.date)
    return True


# ---------------------------------------------------------------------------- applications
#
# Lock order, everywhere: the application's row first, the date's row last. A seat is taken by
# a conditional UPDATE at the very end of the transaction (taken < capacity, not cancelled,
# before the deadline), so the date's row is held only from that statement to the commit, and
# the work before it (the application row, the confirmation send) runs concurrently for every
# applicant of the date. A refused UPDATE rolls all of it back.


def _locked(application_pk: int) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("candidate", "event__company", "date__event")
        .get(pk=application_pk)
    )


def _fresh(date: EventDate) -> EventDate:
    return EventDate.objects.select_related("event__company").get(pk=date.pk)


def _check_open(date: EventDate, now: datetime, by_recruiter: bool) -> None:
    if date.is_cancelled:
        raise ApplyRefused(ApplyRefused.DATE_CANCELLED)
    if not by_recruiter and (now >= date.application_deadline or not date.event.is_published):
        raise ApplyRefused(ApplyRefused.CLOSED)
    if date.taken >= date.capacity:
        raise ApplyRefused(ApplyRefused.FULL)


def _take_seat(date: EventDate, now: datetime, by_recruiter: bool) -> None:
    """taken + 1 if a seat is free and the date still open; else the refusal that applies now."""
    seats = EventDate.objects.filter(pk=date.pk, taken__lt=F("capacity"), cancelled_at__isnull=True)
    if not by_recruiter:
        seats = seats.filter(application_deadline__gt=now)
    if seats.update(taken=F("taken") + 1) == 0:
        _check_open(_fresh(date), now, by_recruiter)
        raise ApplyRefused(ApplyRefused.FULL)


def _free_seat(date: EventDate) -> None:
    EventDate.objects.filter(pk=date.pk, taken__gt=0).update(taken=F("taken") - 1)


def _set_status(application: Application, status: str, now: datetime, *also: str) -> None:
    """The new status, saved with a higher sequence (and the fields named in `also`)."""
    application.status = status
    application.updated_at = now
    application.sequence += 1
    application.save(update_fields=["status", "updated_at", "sequence", *also])


def apply(
    date: EventDate,
    candidate: Candidate,
    source: str,
    now: datetime | None = None,
    *,
    created_candidate: bool = False,
) -> Application:
    """Take a seat on `date` for the candidate; raises ApplyRefused (nothing changed) when the
    date is full, closed or cancelled, or the candidate holds a seat of this event already.
    A recruiter's 代行予約 may book after the application deadline, never beyond capacity."""
    now = now or timezone.now()
    by_recruiter = source == Application.Source.RECRUITER
    with transaction.atomic():
        date = _fresh(date)
        if date.company_id != candidate.company_id:
            raise ValueError("The candidate and the event belong to different companies.")
        existing = (
            Application.objects.select_for_update(of=("self",))
            .filter(event_id=date.event_id, candidate=candidate)
            .first()
        )
        if existing is not None and existing.is_live:
            raise ApplyRefused(ApplyRefused.ALREADY)
        _check_open(date, now, by_recruiter)
        if existing is not None:  # applying again after a cancellation: the same row
            existing.date = date
            existing.source = source
            _set_status(existing, Application.Status.APPLIED, now, "date", "source")
            application = existing
        else:
            try:
                with transaction.atomic():
                    application = Application.objects.create(
                        company_id=date.company_id,
                        event=date.event,
                        date=date,
                        candidate=candidate,
                        source=source,
                        created_candidate=created_candidate,
                        applied_at=now,
                        updated_at=now,
                    )
            except IntegrityError as exc:  # the same candidate's other first application won
                raise ApplyRefused(ApplyRefused.ALREADY) from exc
        notices.send_confirmation(application, notices.APPLY)
        _take_seat(date, now, by_recruiter)
    logger.info("Event application: event=%s date=%s candidate=%s via %s", date.event_id, date.pk, candidate.pk, source)
    return application


def change_date(
    application: Application, new_date: EventDate, now: datetime | None = None, *, by_recruiter: bool = False
) -> Application:
    """Move a live application to another date of its event (the old seat freed, a new one
    taken, in one transaction). Candidates need both dates' deadlines still open."""
    now = now or timezone.now()
    if new_date.event_id != application.event_id:
        raise ValueError("The date is not of the application's event.")
    with transaction.atomic():
        application = _locked(application.pk)
        old, new = application.date, _fresh(new_date)
        if application.status != Application.Status.APPLIED:
            raise ApplyRefused(ApplyRefused.NOT_APPLIED)
        if old.pk == new.pk:
            raise ApplyRefused(ApplyRefused.SAME_DATE)
        if not by_recruiter and not old.accepts_cancellations(now):
            raise ApplyRefused(ApplyRefused.CANCEL_CLOSED)
        _check_open(new, now, by_recruiter)
        application.date = new
        _set_status(application, Application.Status.APPLIED, now, "date")
        notices.send_confirmation(application, notices.CHANGE)
        for date in sorted((old, new), key=lambda d: d.pk):  # the two dates' rows in id order
            if date.pk == new.pk:
                _take_seat(new, now, by_recruiter)
            else:
                _free_seat(old)
    return application


def cancel(application: Application, now: datetime | None = None, *, by_recruiter: bool = False) -> Application:
    """Cancel a live application (its seat freed). Candidates only before the cancel deadline."""
    now = now or timezone.now()
    with transaction.atomic():
        application = _locked(application.pk)
        if not application.is_live or (not by_recruiter and application.status != Application.Status.APPLIED):
            raise ApplyRefused(ApplyRefused.NOT_APPLIED)
        if not by_recruiter and not application.date.accepts_cancellations(now):
            raise ApplyRefused(ApplyRefused.CANCEL_CLOSED)
        _set_status(application, Application.Status.CANCELLED, now)
        notices.send_confirmation(application, notices.CANCEL)
        _free_seat(application.date)
    return application


def tell_already_applied(application: Application) -> None:
    """The public page never says whether an address is known: a second application from a
    known address changes nothing, and only the mailbox learns what is already booked."""
    with transaction.atomic():
        notices.send_confirmation(application, notices.ALREADY)


# ---------------------------------------------------------------------------- public page


@dataclass
class Applicant:
    last_name: str
    first_name: str
    last_name_kana: str
    first_name_kana: str
    email: str
    university: str
    graduation_year: int | None


def _entry_stage(company: Company) -> Stage:
    stages = Stage.objects.for_company(company).order_by("position")
    stage = stages.filter(name="エントリー").first() or stages.first()
    if stage is None:
        raise ApplyRefused("ただいまお申し込みを受け付けられません。採用担当者にお問い合わせください。")
    return stage


def candidate_for(company: Company, applicant: Applicant) -> tuple[Candidate, bool]:
    """The company's candidate with this email, or a new one at エントリー (True when new).
    What a stranger typed never changes a known candidate's record."""
    email = applicant.email.strip().lower()
    found = Candidate.objects.for_company(company).filter(email__iexact=email).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            candidate = Candidate.objects.create(
                company=company,
                stage=_entry_stage(company),
                last_name=applicant.last_name,
                first_name=applicant.first_name,
                last_name_kana=applicant.last_name_kana,
                first_name_kana=applicant.first_name_kana,
                email=email,
                university=applicant.university,
                graduation_year=applicant.graduation_year,
            )
    except IntegrityError:  # the same address registered at this moment by another request
        return Candidate.objects.for_company(company).get(email__iexact=email), False
    return candidate, True


def apply_publicly(date: EventDate, applicant: Applicant, now: datetime | None = None) -> None:
    """An application from the event's public page. Raises ApplyRefused only for what the page
    may say to anyone (full, closed, cancelled); an address that already holds a seat gets
    the confirmation of what it holds, and the page answers as for a new application."""
    now = now or timezone.now()
    # The date's state first, the same answer for any address: full, closed or cancelled.
    _check_open(EventDate.objects.select_related("event").get(pk=date.pk), now, by_recruiter=False)
    with transaction.atomic():
        candidate, created = candidate_for(date.event.company, applicant)
        existing = Application.objects.filter(event_id=date.event_id, candidate=candidate).select_related(
            "candidate", "date", "event__company"
        )
        held = next((a for a in existing if a.is_live), None)
        if held is not None:
            tell_already_applied(held)
            return
        apply(date, candidate, Application.Source.PUBLIC, now, created_candidate=created)


# ---------------------------------------------------------------------------- attendance


ATTENDANCE_STATUSES = (Application.Status.APPLIED, Application.Status.ATTENDED, Application.Status.ABSENT)


def set_attendance(applications: Iterable[Application], status: str, user: User, now: datetime | None = None) -> int:
    """出席 / 欠席 (or back to 申込済み) for live applications; cancelled ones are left alone.
    Returns how many changed."""
    if status not in ATTENDANCE_STATUSES:
        raise EventError("出欠の状態が正しくありません。")
    now = now or timezone.now()
    ids = [application.pk for application in applications]
    changed = (
        Application.objects.filter(pk__in=ids, status__in=Application.LIVE)
        .exclude(status=status)
        .update(status=status, updated_at=now)
    )
    return changed
