"""What changes interviews and slots: one verb each, each in one transaction.

Candidates book, change and cancel through `book` and `cancel_booking` (their request's row
is locked first, so a double tap is one booking); recruiters enter interviews directly
(`register_interview`), mark them done or cancel them (`set_status`), and manage slots.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from candidates.models import Candidate, Stage
from hrmos.audit import log_action
from hrmos.models import User
from selection import notices
from selection.booking import Conflict, hold
from selection.models import Booking, Interview, Room, Schedule, SchedulingRequest, Slot

logger = logging.getLogger(__name__)

MAX_BULK_SLOTS = 500


class SlotError(Exception):
    """A slot change that cannot be made; the message is for the recruiter."""


class Refused(Exception):
    """A candidate's booking that cannot be made; `reason` says which page to show."""

    TAKEN = "taken"  # the slot was booked by someone else (or its people are busy)
    CLOSED = "closed"  # past the deadline, or the slot is in the past
    CANCELLED = "cancelled"  # the request was withdrawn by the recruiter

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------- slots


def _overlapping(schedule: Schedule, start: datetime, end: datetime) -> QuerySet[Slot]:
    return Slot.objects.filter(schedule=schedule, start_at__lt=end, end_at__gt=start)


@transaction.atomic
def add_slot(schedule: Schedule, start: datetime, end: datetime, now: datetime) -> Slot:
    if end <= start:
        raise SlotError("終了は開始より後の時刻にしてください。")
    if start <= now:
        raise SlotError("過去の日時には面接枠を作成できません。")
    Schedule.objects.select_for_update().get(pk=schedule.pk)
    if _overlapping(schedule, start, end).exists():
        raise SlotError("同じ時間帯に重なる面接枠がすでにあります。")
    return Slot.objects.create(company_id=schedule.company_id, schedule=schedule, start_at=start, end_at=end)


@dataclass(frozen=True)
class BulkSlots:
    first_day: date
    last_day: date
    weekdays: frozenset[int]  # 0 = Monday
    day_start: time
    day_end: time
    minutes: int


def bulk_times(spec: BulkSlots) -> list[tuple[datetime, datetime]]:
    """Every slot the spec describes, in local time, in order."""
    if spec.last_day < spec.first_day:
        raise SlotError("終了日は開始日以降にしてください。")
    if spec.day_end <= spec.day_start:
        raise SlotError("時間帯の終了は開始より後にしてください。")
    if spec.minutes <= 0:
        raise SlotError("1枠の長さを指定してください。")
    times: list[tuple[datetime, datetime]] = []
    day = spec.first_day
    length = timedelta(minutes=spec.minutes)
    while day <= spec.last_day:
        if day.weekday() in spec.weekdays:
            start = timezone.make_aware(datetime.combine(day, spec.day_start))
            day_end = timezone.make_aware(datetime.combine(day, spec.day_end))
            while start + length <= day_end:
                times.append((start, start + length))
                if len(times) > MAX_BULK_SLOTS:
                    raise SlotError(
                        f"一度に作成できる面接枠は{MAX_BULK_SLOTS}件までです。期間や時間帯を絞ってください。"
                    )
                start += length
        day += timedelta(days=1)
    return times


@transaction.atomic
def add_slots(schedule: Schedule, spec: BulkSlots, now: datetime) -> tuple[int, int]:
    """Create the spec's slots, skipping those in the past or overlapping an existing slot of
    the schedule. Returns (created, skipped); nothing is written when the spec is refused."""
    times = bulk_times(spec)
    Schedule.objects.select_for_update().get(pk=schedule.pk)
    existing = list(Slot.objects.filter(schedule=schedule).values_list("start_at", "end_at"))
    new: list[Slot] = []
    for start, end in times:
        if start <= now or any(s < end and e > start for s, e in existing):
            continue
        existing.append((start, end))
        new.append(Slot(company_id=schedule.company_id, schedule=schedule, start_at=start, end_at=end))
    Slot.objects.bulk_create(new)
    return len(new), len(times) - len(new)


def _taken(slot_ref: str = "pk") -> Exists:
    return Exists(Interview.objects.filter(slot=OuterRef(slot_ref)).exclude(status=Interview.Status.CANCELLED))


@transaction.atomic
def delete_slot(slot: Slot) -> None:
    slot = Slot.objects.select_for_update().get(pk=slot.pk)
    if Interview.objects.filter(slot=slot).exclude(status=Interview.Status.CANCELLED).exists():
        raise SlotError("予約済みの面接枠は削除できません。先に面接をキャンセルしてください。")
    slot.delete()


def gone_interviewers(schedule: Schedule) -> list[User]:
    """Interviewers of the schedule who are no longer active recruiters of its company: while
    there are any, nothing can be booked (the booking would be refused)."""
    return list(schedule.interviewers.exclude(company_id=schedule.company_id, is_active=True))


def free_slots(schedule: Schedule, now: datetime) -> list[Slot]:
    """The slots a candidate may book now: in the future, before their deadline, not booked,
    and with their interviewers and room free at that time."""
    if gone_interviewers(schedule):
        return []
    people = list(schedule.interviewers.values_list("pk", flat=True))
    who = Q(user__in=people)
    if schedule.room_id is not None:
        who |= Q(room_id=schedule.room_id)
    busy = Booking.objects.filter(who, start_at__lt=OuterRef("end_at"), end_at__gt=OuterRef("start_at"))
    slots = Slot.objects.filter(schedule=schedule, start_at__gt=now).exclude(_taken()).exclude(Exists(busy))
    return [slot for slot in slots.order_by("start_at") if schedule.deadline_for(slot.start_at) > now]


# ---------------------------------------------------------------------------- candidates


def current_interview(request: SchedulingRequest) -> Interview | None:
    return (
        Interview.objects.filter(request=request, status__in=Interview.HOLDING)
        .select_related("slot", "stage", "room", "company", "candidate")
        .order_by("-start_at")
        .first()
    )


def _place_on(interview: Interview, slot: Slot, schedule: Schedule, event: str) -> None:
    """Put the interview on the slot and confirm it to the candidate. The interviewers are held
    last: a booking overlapping this one waits on its bookings' rows only from their insert to
    the commit, not while the email is written."""
    interview.slot = slot
    interview.start_at, interview.end_at = slot.start_at, slot.end_at
    interview.status = Interview.Status.CONFIRMED
    interview.save()
    interview.interviewers.set(schedule.interviewers.all())
    notices.send_confirmation(interview, event)
    hold(interview)


def book(request: SchedulingRequest, slot_pk: int, now: datetime | None = None) -> Interview:
    """Book the slot for the request's candidate, or move their booking to it. Raises Refused."""
    now = now or timezone.now()
    with transaction.atomic():
        request = (
            SchedulingRequest.objects.select_for_update(of=("self",))  # not the schedule: shared by every booking
            .select_related("schedule", "candidate")
            .get(pk=request.pk)
        )
        if request.cancelled_at is not None:
            raise Refused(Refused.CANCELLED)
        schedule = request.schedule
        slot = Slot.objects.filter(pk=slot_pk, schedule=schedule).first()
        if slot is None or slot.start_at <= now or schedule.deadline_for(slot.start_at) <= now:
            raise Refused(Refused.CLOSED if slot is not None else Refused.TAKEN)
        current = current_interview(request)
        if current is not None and current.slot_id == slot.pk:
            return current
        if current is not None and schedule.deadline_for(current.start_at) <= now:
            raise Refused(Refused.CLOSED)
        interview = current or Interview(
            company_id=request.company_id,
            candidate=request.candidate,
            stage=schedule.stage,
            place=schedule.place,
            online_url=schedule.online_url,
            room=schedule.room,
            schedule=schedule,
            request=request,
        )
        if current is not None:
            interview.sequence += 1
        if request.answered_at is None:  # rolled back with the rest if the booking is refused
            SchedulingRequest.objects.filter(pk=request.pk).update(answered_at=now)
        try:
            with transaction.atomic():
                _place_on(interview, slot, schedule, notices.CHANGED if current else notices.BOOKED)
        except (IntegrityError, Conflict) as taken:
            logger.info("Slot %s not booked for request %s: %s", slot.pk, request.pk, taken)
            raise Refused(Refused.TAKEN) from taken
    logger.info("Slot booked: request=%s interview=%s slot=%s", request.pk, interview.pk, slot.pk)
    return interview


def cancel_booking(request: SchedulingRequest, now: datetime | None = None) -> Interview | None:
    """The candidate cancels their booking (before the deadline). Raises Refused."""
    now = now or timezone.now()
    with transaction.atomic():
        request = (
            SchedulingRequest.objects.select_for_update(of=("self",)).select_related("schedule").get(pk=request.pk)
        )
        current = current_interview(request)
        if current is None:
            return None
        if request.schedule.deadline_for(current.start_at) <= now:
            raise Refused(Refused.CLOSED)
        _cancel(current)
    return current


def _cancel(interview: Interview) -> None:
    was_holding = interview.is_holding
    interview.status = Interview.Status.CANCELLED
    interview.sequence += 1
    interview.save()
    hold(interview)
    if was_holding and interview.request_id is not None:  # it was confirmed to them with an .ics
        notices.send_confirmation(interview, notices.CANCELLED)


# ---------------------------------------------------------------------------- recruiters


def withdraw_request(request: SchedulingRequest, user: User, now: datetime) -> None:
    """The recruiter withdraws a scheduling request: its links then say it has ended, and no
    reminder to answer follows. An interview already booked stays (cancel it on its own)."""
    SchedulingRequest.objects.filter(pk=request.pk, cancelled_at__isnull=True).update(cancelled_at=now)
    log_action(request.schedule.company, user, "scheduling_request.withdraw", str(request), request=request.pk)


def archive_schedule(schedule: Schedule, user: User, now: datetime) -> None:
    """End a schedule: no longer offered on the compose screen, no reminders to answer. Its
    booked interviews and the candidates' links stay as they are."""
    Schedule.objects.filter(pk=schedule.pk, archived_at__isnull=True).update(archived_at=now)
    log_action(schedule.company, user, "schedule.archive", schedule.name, schedule=schedule.pk)


@dataclass(frozen=True)
class InterviewInput:
    stage: Stage | None
    start_at: datetime
    end_at: datetime
    place: str
    online_url: str
    interviewers: list[User]
    room: Room | None
    status: str
    note: str


def register_interview(candidate: Candidate, data: InterviewInput, user: User) -> Interview:
    """An interview fixed by the recruiter, without scheduling. Raises Conflict."""
    if data.end_at <= data.start_at:
        raise Conflict("終了は開始より後の時刻にしてください。")
    with transaction.atomic():
        interview = Interview.objects.create(
            company_id=candidate.company_id,
            candidate=candidate,
            stage=data.stage,
            start_at=data.start_at,
            end_at=data.end_at,
            place=data.place,
            online_url=data.online_url,
            room=data.room,
            status=data.status,
            note=data.note,
            created_by=user,
        )
        interview.interviewers.set(data.interviewers)
        hold(interview)
        log_action(candidate.company, user, "interview.create", str(candidate), interview=interview.pk)
    return interview


def update_interview(interview: Interview, data: InterviewInput, user: User) -> Interview:
    """The recruiter changes an interview (time, people, place, status). A new time leaves the
    slot it was booked on, which is free again; a booked candidate is told of a new time with
    an updated .ics. Raises Conflict."""
    if data.end_at <= data.start_at:
        raise Conflict("終了は開始より後の時刻にしてください。")
    with transaction.atomic():
        interview = Interview.objects.select_for_update().select_related("company", "candidate").get(pk=interview.pk)
        moved = (interview.start_at, interview.end_at) != (data.start_at, data.end_at)
        if moved:
            interview.slot = None
            interview.sequence += 1
        for name in ("stage", "start_at", "end_at", "place", "online_url", "room", "status", "note"):
            setattr(interview, name, getattr(data, name))
        interview.save()
        interview.interviewers.set(data.interviewers)
        hold(interview)
        if moved and interview.is_holding and interview.request_id is not None:
            notices.send_confirmation(interview, notices.CHANGED)
        log_action(interview.company, user, "interview.update", str(interview.candidate), interview=interview.pk)
    return interview


def set_status(interview: Interview, status: str, user: User) -> Interview:
    """Mark done, cancel, or confirm again. Cancelling a booked interview frees its slot and
    tells the candidate (with a cancelling .ics). Raises Conflict when confirming again finds
    someone taken."""
    with transaction.atomic():
        interview = Interview.objects.select_for_update().select_related("company", "candidate").get(pk=interview.pk)
        if interview.status == status:
            return interview
        if status == Interview.Status.CANCELLED:
            _cancel(interview)
        else:
            if not interview.is_holding:
                interview.sequence += 1
            interview.status = status
            try:
                with transaction.atomic():
                    interview.save()
                    hold(interview)
            except IntegrityError as taken:
                raise Conflict("この面接枠は別の候補者が予約済みのため、確定に戻せません。") from taken
        log_action(interview.company, user, f"interview.{status}", str(interview.candidate), interview=interview.pk)
    return interview
