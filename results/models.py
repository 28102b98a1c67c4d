"""Selection results (選考結果) per candidate and stage, and each company's automatic result
notice per stage and result (選考結果の自動通知).

A result is never edited in place: recording again adds a row and marks the one before it as
no longer current, so the history of a stage's result stays readable (who changed 保留 to
合格, when). At most one row per candidate and stage is current (a partial unique index, the
backstop behind the candidate row lock in actions.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from candidates.models import Candidate, Stage
from hrmos.tenancy import CompanyOwned
from messaging.models import Send

NOTE_MAX = 2000


class Outcome(models.TextChoices):
    PASSED = "passed", _("合格")
    FAILED = "failed", _("不合格")
    ON_HOLD = "on_hold", _("保留")


class SelectionResult(CompanyOwned):
    candidate = models.ForeignKey(
        Candidate, verbose_name=_("候補者"), on_delete=models.CASCADE, related_name="selection_results"
    )
    stage = models.ForeignKey(Stage, verbose_name=_("選考ステップ"), on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("選考結果"), max_length=16, choices=Outcome.choices)
    note = models.TextField(_("メモ"), max_length=NOTE_MAX, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登録者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("登録日時"))
    is_current = models.BooleanField(_("最新"), default=True)
    superseded_at = models.DateTimeField(_("変更日時"), null=True, blank=True)
    # The stage the candidate moved to with a 合格 (null: not moved).
    moved_to = models.ForeignKey(
        Stage,
        verbose_name=_("移動先の選考ステップ"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The automatic notice of this result (a scheduled or sent email); a record that repeats the
    # result before it shares that record's notice.
    notice = models.ForeignKey(
        Send, verbose_name=_("自動通知"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("選考結果")
        verbose_name_plural = _("選考結果")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "stage"], condition=Q(is_current=True), name="selection_result_one_current"
            ),
        ]
        indexes = [models.Index(fields=["candidate", "stage", "-recorded_at"], name="selection_result_history")]

    def __str__(self) -> str:
        return f"{self.stage} {self.get_outcome_display()}"


class NoticeSetting(CompanyOwned):
    """When and with what text a result notice goes for one stage and result. Absent or off:
    no notice (a rejection is never emailed unless the company set it up). Blank text: the
    template of the 自動送信メール設定 page."""

    class Timing(models.TextChoices):
        IMMEDIATE = "immediate", _("すぐに送信")
        DELAYED = "delayed", _("日数をおいて送信")

    stage = models.ForeignKey(Stage, verbose_name=_("選考ステップ"), on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(_("選考結果"), max_length=16, choices=Outcome.choices)
    enabled = models.BooleanField(_("自動通知"), default=False)
    timing = models.CharField(_("送信タイミング"), max_length=16, choices=Timing.choices, default=Timing.IMMEDIATE)
    delay_days = models.PositiveSmallIntegerField(_("日後"), default=1)
    hour = models.PositiveSmallIntegerField(_("時"), default=10)
    subject = models.CharField(_("件名"), max_length=200, blank=True)
    body = models.TextField(_("本文"), blank=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("更新者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("選考結果の通知設定")
        verbose_name_plural = _("選考結果の通知設定")
        constraints = [
            models.UniqueConstraint(fields=["stage", "outcome"], name="notice_setting_one_per_stage_outcome"),
            models.CheckConstraint(condition=Q(hour__lte=23), name="notice_setting_hour_of_day"),
            models.CheckConstraint(condition=Q(delay_days__lte=60), name="notice_setting_delay_at_most_60_days"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.get_outcome_display()}"
