"""Events (説明会・イベント): an event has one or more dates (日程) with seats; candidates apply
to one date through a personal link, the event's public page, or the recruiter (代行予約).

A date's `taken` counts its live applications (申込済み・出席・欠席); a seat is taken by one
conditional UPDATE of the date's row (see actions.py), so a date is never oversold; the check
constraint is the last line of defence.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from candidates.models import Candidate
from hrmos.tenancy import CompanyOwned


class Event(CompanyOwned):
    title = models.CharField(_("イベント名"), max_length=100)
    description = models.TextField(_("説明"), blank=True)
    place = models.CharField(_("会場"), max_length=200, blank=True)
    online_url = models.URLField(_("オンラインURL"), max_length=500, blank=True)
    belongings = models.CharField(_("持ち物"), max_length=200, blank=True)
    contact = models.CharField(_("お問い合わせ先"), max_length=200, blank=True)
    is_published = models.BooleanField(_("公開"), default=False)
    reminder_enabled = models.BooleanField(_("前日リマインドを送る"), default=True)
    # This event's own automatic emails; blank: the company's (自動送信メール設定).
    confirmation_subject = models.CharField(_("申込確認メールの件名"), max_length=200, blank=True)
    confirmation_body = models.TextField(_("申込確認メールの本文"), blank=True)
    reminder_subject = models.CharField(_("リマインドメールの件名"), max_length=200, blank=True)
    reminder_body = models.TextField(_("リマインドメールの本文"), blank=True)
    # The key of the public application page's URL (not the sequential id).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("イベント")
        verbose_name_plural = _("イベント")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"], name="event_company_created")]

    def __str__(self) -> str:
        return self.title

    def venue(self) -> str:
        """Where it happens, as a message says it: the place and/or the online URL."""
        return "\n".join(part for part in (self.place, self.online_url) if part)


class EventDate(CompanyOwned):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="dates", db_index=False)
    starts_at = models.DateTimeField(_("開始日時"))
    ends_at = models.DateTimeField(_("終了日時"))
    capacity = models.PositiveIntegerField(_("定員"))
    taken = models.PositiveIntegerField(_("申込数"), default=0, editable=False)
    application_deadline = models.DateTimeField(_("申込締切"))
    cancel_deadline = models.DateTimeField(_("キャンセル締切"))
    place = models.CharField(_("会場（この日程のみ）"), max_length=200, blank=True)
    cancelled_at = models.DateTimeField(_("開催中止日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("日程")
        verbose_name_plural = _("日程")
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["event", "starts_at"], name="eventdate_event_start"),
            models.Index(fields=["starts_at"], name="eventdate_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(taken__lte=F("capacity")), name="eventdate_not_oversold"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="eventdate_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.starts_at:%Y/%m/%d %H:%M}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.taken)

    def venue(self) -> str:
        return self.place or self.event.venue()

    def accepts_applications(self, now: datetime) -> bool:
        return not self.is_cancelled and now < self.application_deadline and self.taken < self.capacity

    def accepts_cancellations(self, now: datetime) -> bool:
        return not self.is_cancelled and now < self.cancel_deadline


class Application(CompanyOwned):
    """A candidate's application to an event: one row per candidate and event, pointing at the
    date they hold (a change of date moves it; a cancellation keeps the date it was for)."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("申込済み")
        CANCELLED = "cancelled", _("キャンセル")
        ATTENDED = "attended", _("出席")
        ABSENT = "absent", _("欠席")

    class Source(models.TextChoices):
        PERSONAL = "personal", _("個人用URL")
        PUBLIC = "public", _("公開ページ")
        RECRUITER = "recruiter", _("代行予約")

    LIVE = (Status.APPLIED, Status.ATTENDED, Status.ABSENT)  # the statuses that hold a seat

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="applications", db_index=False)
    date = models.ForeignKey(EventDate, on_delete=models.PROTECT, related_name="applications")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="event_applications")
    status = models.CharField(_("状態"), max_length=12, choices=Status.choices, default=Status.APPLIED)
    source = models.CharField(_("申込経路"), max_length=12, choices=Source.choices)
    # The public page created the candidate: the event is where they came from.
    created_candidate = models.BooleanField(_("このイベントで新規登録"), default=False)
    applied_at = models.DateTimeField(_("申込日時"))
    updated_at = models.DateTimeField(_("更新日時"))
    # Raised on every change, so the .ics the candidate received last replaces the earlier one.
    sequence = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("イベント申込")
        verbose_name_plural = _("イベント申込")
        ordering = ["applied_at", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "candidate"], name="application_one_per_event")]
        indexes = [models.Index(fields=["date", "status"], name="application_date_status")]

    def __str__(self) -> str:
        return f"{self.event} / {self.candidate}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class EventLink(CompanyOwned):
    """A candidate's personal application link. Only the token's SHA-256 is stored."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="links", db_index=False)
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="event_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("発行日時"))

    class Meta:
        verbose_name = _("イベント申込URL")
        verbose_name_plural = _("イベント申込URL")
        indexes = [models.Index(fields=["event", "candidate"], name="eventlink_event_candidate")]

    def __str__(self) -> str:
        return f"{self.event} / {self.candidate}"
