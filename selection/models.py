"""Interviews (面接・面談) and scheduling (日程調整).

A recruiter sets up a `Schedule` (who interviews, where, how long) with bookable `Slot`s; a
candidate gets a `SchedulingRequest` for it and opens one of its personal `SchedulingLink`s to
book a slot, which creates an `Interview`. A recruiter can also enter an interview directly.

No double booking, whatever path wrote the rows:
- a slot holds at most one interview that is not cancelled (`interview_one_per_slot`);
- no interviewer or room is in two confirmed interviews at overlapping times: every confirmed
  (or held) interview has one `Booking` row per interviewer and per room, and on PostgreSQL an
  exclusion constraint over `tstzrange(start_at, end_at)` refuses an overlapping row for the
  same user or room (migration 0002). The actions also lock the interviewers' and rooms' rows
  in a fixed order before checking, so SQLite (one writer at a time) gets the same answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from candidates.models import Candidate, Stage
from hrmos.tenancy import CompanyOwned


class Room(CompanyOwned):
    """A meeting room (会議室) that, like an interviewer, can be in one interview at a time."""

    name = models.CharField(_("会議室名"), max_length=100)

    class Meta:
        verbose_name = _("会議室")
        verbose_name_plural = _("会議室")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="room_name_unique")]

    def __str__(self) -> str:
        return self.name


class Schedule(CompanyOwned):
    """A set of bookable slots (面接枠) sharing interviewers or a room, a place and a length."""

    name = models.CharField(_("日程調整名"), max_length=100)
    stage = models.ForeignKey(
        Stage, verbose_name=_("選考ステップ"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    duration_minutes = models.PositiveSmallIntegerField(_("所要時間（分）"), default=60)
    interviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("面接官"), blank=True, related_name="selection_schedules"
    )
    room = models.ForeignKey(
        Room, verbose_name=_("会議室"), on_delete=models.SET_NULL, null=True, blank=True, related_name="schedules"
    )
    place = models.CharField(_("場所"), max_length=200, blank=True)
    online_url = models.URLField(_("オンライン面接URL"), max_length=500, blank=True)
    # Candidates may book, change or cancel a slot until the end of the day this many days
    # before it (1: until the day before).
    deadline_days = models.PositiveSmallIntegerField(_("変更・キャンセル期限（何日前まで）"), default=1)
    # A request still unanswered this many days after it was sent gets a reminder (at most 3).
    reminder_days = models.PositiveSmallIntegerField(_("未回答リマインドの間隔（日）"), default=2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    archived_at = models.DateTimeField(_("終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("日程調整")
        verbose_name_plural = _("日程調整")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def deadline_for(self, start_at: datetime) -> datetime:
        """The last moment a candidate may book, change or cancel a slot starting at `start_at`."""
        day = timezone.localtime(start_at).date() - timedelta(days=self.deadline_days)
        end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time())
        return timezone.make_aware(end_of_day) if self.deadline_days else start_at


class Slot(CompanyOwned):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="slots", db_index=False)
    start_at = models.DateTimeField(_("開始"))
    end_at = models.DateTimeField(_("終了"))

    class Meta:
        verbose_name = _("面接枠")
        verbose_name_plural = _("面接枠")
        ordering = ["start_at", "id"]
        indexes = [models.Index(fields=["schedule", "start_at"], name="slot_schedule_start")]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=models.F("start_at")), name="slot_ends_after_start"),
            models.UniqueConstraint(fields=["schedule", "start_at"], name="slot_schedule_start_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {timezone.localtime(self.start_at):%Y/%m/%d %H:%M}"


class SchedulingRequest(CompanyOwned):
    """One candidate asked to pick a slot of one schedule (日程調整のご依頼). Every message of
    the request carries its own link to it; they all lead to the same booking."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="requests", db_index=False)
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="scheduling_requests")
    created_at = models.DateTimeField(_("依頼日時"))
    answered_at = models.DateTimeField(_("回答日時"), null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("未回答リマインド送信回数"), default=0)
    cancelled_at = models.DateTimeField(_("取消日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("日程調整依頼")
        verbose_name_plural = _("日程調整依頼")
        constraints = [
            models.UniqueConstraint(fields=["schedule", "candidate"], name="schedulingrequest_one_per_candidate")
        ]

    def __str__(self) -> str:
        return f"{self.schedule} / {self.candidate}"


class SchedulingLink(CompanyOwned):
    """A personal link to a request. Only the token's SHA-256 is stored."""

    request = models.ForeignKey(SchedulingRequest, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("発行日時"))

    class Meta:
        verbose_name = _("日程調整URL")
        verbose_name_plural = _("日程調整URL")

    def __str__(self) -> str:
        return str(self.request)


class Interview(CompanyOwned):
    class Status(models.TextChoices):
        ADJUSTING = "adjusting", _("調整中")
        CONFIRMED = "confirmed", _("確定")
        DONE = "done", _("実施済み")
        CANCELLED = "cancelled", _("キャンセル")

    # The statuses that hold the interviewers, the room and the slot.
    HOLDING = (Status.CONFIRMED, Status.DONE)

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="interviews", db_index=False)
    stage = models.ForeignKey(
        Stage, verbose_name=_("選考ステップ"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    start_at = models.DateTimeField(_("開始"))
    end_at = models.DateTimeField(_("終了"))
    place = models.CharField(_("場所"), max_length=200, blank=True)
    online_url = models.URLField(_("オンライン面接URL"), max_length=500, blank=True)
    interviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("面接官"), blank=True, related_name="selection_interviews"
    )
    room = models.ForeignKey(
        Room, verbose_name=_("会議室"), on_delete=models.SET_NULL, null=True, blank=True, related_name="interviews"
    )
    status = models.CharField(_("状態"), max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    note = models.TextField(_("メモ"), blank=True)
    schedule = models.ForeignKey(Schedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    slot = models.ForeignKey(Slot, on_delete=models.SET_NULL, null=True, blank=True, related_name="interviews")
    request = models.ForeignKey(
        SchedulingRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="interviews"
    )
    # Raised on every change of time or status, so a calendar app takes the newest .ics.
    sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("面接")
        verbose_name_plural = _("面接")
        ordering = ["-start_at", "-id"]
        indexes = [
            models.Index(fields=["candidate", "-start_at"], name="interview_candidate_start"),
            models.Index(fields=["company", "start_at"], name="interview_company_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=models.F("start_at")), name="interview_ends_after_start"),
            models.UniqueConstraint(fields=["slot"], condition=~Q(status="cancelled"), name="interview_one_per_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} {timezone.localtime(self.start_at):%Y/%m/%d %H:%M}"

    @property
    def is_holding(self) -> bool:
        return self.status in self.HOLDING


class Booking(CompanyOwned):
    """An interviewer or a room taken by a confirmed interview for its time. Written only by
    `selection.booking.hold` (rows follow the interview's status and time); the PostgreSQL
    exclusion constraints of migration 0002 refuse two overlapping rows for one user or room."""

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="bookings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, null=True, related_name="+")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()

    class Meta:
        verbose_name = _("予約")
        verbose_name_plural = _("予約")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, room__isnull=True) | Q(user__isnull=True, room__isnull=False),
                name="booking_user_or_room",
            ),
            models.CheckConstraint(condition=Q(end_at__gt=models.F("start_at")), name="booking_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.interview_id}: {self.user_id or self.room_id}"
