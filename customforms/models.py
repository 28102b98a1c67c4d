"""Custom forms (カスタムフォーム): a recruiter builds a form, candidates answer it through a
personal link.

A form's fields are soft-deleted once answered (`deleted_at`), and every answer keeps the label
and type it was given under, so removing or renaming a field never loses or relabels an answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from candidates.models import Candidate
from hrmos.tenancy import CompanyOwned
from hrmos.text import disk_name


class Form(CompanyOwned):
    class AnswerPolicy(models.TextChoices):
        ONCE = "once", _("1回のみ回答できる")
        EDITABLE = "editable", _("回答期限まで何度でも修正できる")

    class Status(models.TextChoices):
        DRAFT = "draft", _("非公開")
        OPEN = "open", _("受付中")
        CLOSED = "closed", _("期限切れ")
        ARCHIVED = "archived", _("アーカイブ")

    name = models.CharField(_("フォーム名"), max_length=100)
    description = models.TextField(_("説明文"), blank=True)
    deadline = models.DateTimeField(_("回答期限"), null=True, blank=True)
    answer_policy = models.CharField(
        _("回答の修正"), max_length=10, choices=AnswerPolicy.choices, default=AnswerPolicy.ONCE
    )
    is_published = models.BooleanField(_("公開"), default=False)
    # A form with answers is archived instead of deleted: its answers stay on the candidates.
    archived_at = models.DateTimeField(_("アーカイブ日時"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作成した採用担当者"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("カスタムフォーム")
        verbose_name_plural = _("カスタムフォーム")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"], name="form_company_created")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable_answers(self) -> bool:
        return self.answer_policy == self.AnswerPolicy.EDITABLE

    def status(self, now: datetime) -> Status:
        if self.archived_at is not None:
            return self.Status.ARCHIVED
        if not self.is_published:
            return self.Status.DRAFT
        if self.deadline is not None and self.deadline <= now:
            return self.Status.CLOSED
        return self.Status.OPEN

    def accepts_answers(self, now: datetime) -> bool:
        return self.status(now) == self.Status.OPEN

    def live_fields(self) -> models.QuerySet[FormField]:
        return self.fields.filter(deleted_at__isnull=True).order_by("position", "id")


class FormField(CompanyOwned):
    class Kind(models.TextChoices):
        SHORT_TEXT = "short_text", _("テキスト（1行）")
        LONG_TEXT = "long_text", _("テキスト（複数行）")
        SINGLE_CHOICE = "single_choice", _("単一選択")
        MULTIPLE_CHOICE = "multiple_choice", _("複数選択")
        DATE = "date", _("日付")
        NUMBER = "number", _("数値")
        EMAIL = "email", _("メールアドレス")
        FILE = "file", _("ファイル")

    CHOICE_KINDS = frozenset({Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE})
    ICONS: dict[str, str] = {  # bootstrap-icons names, for the builder
        Kind.SHORT_TEXT: "input-cursor-text",
        Kind.LONG_TEXT: "textarea-t",
        Kind.SINGLE_CHOICE: "ui-radios",
        Kind.MULTIPLE_CHOICE: "ui-checks",
        Kind.DATE: "calendar-date",
        Kind.NUMBER: "123",
        Kind.EMAIL: "envelope-at",
        Kind.FILE: "paperclip",
    }

    form = models.ForeignKey(
        Form, verbose_name=_("フォーム"), on_delete=models.CASCADE, related_name="fields", db_index=False
    )
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    label = models.CharField(_("項目名"), max_length=200)
    help_text = models.CharField(_("説明"), max_length=500, blank=True)
    required = models.BooleanField(_("必須"), default=False)
    position = models.PositiveIntegerField(_("表示順"), default=0)
    options = models.JSONField(_("選択肢"), default=list, blank=True)  # list[str], choice kinds only
    file_types = models.JSONField(_("許可するファイル形式"), default=list, blank=True)  # keys of uploads.FILE_TYPES
    max_file_mb = models.PositiveSmallIntegerField(_("ファイルサイズ上限（MB）"), default=5)
    deleted_at = models.DateTimeField(_("削除日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("フォーム項目")
        verbose_name_plural = _("フォーム項目")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["form", "position"], name="formfield_form_position")]

    def __str__(self) -> str:
        return self.label

    @property
    def is_choice(self) -> bool:
        return self.kind in self.CHOICE_KINDS

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def icon(self) -> str:
        return self.ICONS.get(self.kind, "question")


class FormLink(CompanyOwned):
    """A candidate's personal link to a form. Only the token's SHA-256 is stored; the link is
    valid while the form accepts answers (published, before its deadline, not archived), so
    moving the deadline moves every link's expiry with it."""

    form = models.ForeignKey(
        Form, verbose_name=_("フォーム"), on_delete=models.CASCADE, related_name="links", db_index=False
    )
    candidate = models.ForeignKey(
        Candidate, verbose_name=_("候補者"), on_delete=models.CASCADE, related_name="form_links"
    )
    token_hash = models.CharField(_("トークンのハッシュ"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("発行日時"))

    class Meta:
        verbose_name = _("フォーム回答URL")
        verbose_name_plural = _("フォーム回答URL")
        indexes = [models.Index(fields=["form", "candidate"], name="formlink_form_candidate")]

    def __str__(self) -> str:
        return f"{self.form} / {self.candidate}"


class FormResponse(CompanyOwned):
    """One candidate's answers to one form (at most one per candidate and form)."""

    # Both looked up through the composite indexes below (form first / candidate first).
    form = models.ForeignKey(
        Form, verbose_name=_("フォーム"), on_delete=models.CASCADE, related_name="responses", db_index=False
    )
    candidate = models.ForeignKey(
        Candidate, verbose_name=_("候補者"), on_delete=models.CASCADE, related_name="form_responses", db_index=False
    )
    submitted_at = models.DateTimeField(_("回答日時"))
    updated_at = models.DateTimeField(_("最終更新日時"))
    edit_count = models.PositiveIntegerField(_("修正回数"), default=0)

    class Meta:
        verbose_name = _("フォーム回答")
        verbose_name_plural = _("フォーム回答")
        ordering = ["-submitted_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["form", "candidate"], name="formresponse_one_per_candidate")]
        indexes = [
            models.Index(fields=["form", "-submitted_at", "-id"], name="formresponse_form_newest"),
            models.Index(fields=["candidate", "-submitted_at"], name="formresponse_candidate_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.form} / {self.candidate}"

    def ordered_answers(self) -> list[FormAnswer]:
        """In the form's order; answers to removed fields last. Uses prefetched answers__field."""
        return sorted(self.answers.all(), key=lambda a: (a.field.is_deleted, a.field.position, a.field_id))


def answer_file_path(instance: FormAnswer, filename: str) -> str:
    return f"customforms/{instance.company_id}/{uuid.uuid4().hex}/{disk_name(filename)}"


class FormAnswer(CompanyOwned):
    """One field's answer. `label` and `kind` are the field's as the candidate saw them."""

    # Looked up through the (response, field) unique index.
    response = models.ForeignKey(
        FormResponse, verbose_name=_("回答"), on_delete=models.CASCADE, related_name="answers", db_index=False
    )
    # PROTECT: a field is hard-deleted only while it has no answer (see actions.remove_field).
    field = models.ForeignKey(FormField, verbose_name=_("項目"), on_delete=models.PROTECT, related_name="answers")
    label = models.CharField(_("項目名"), max_length=200)
    kind = models.CharField(_("種類"), max_length=20, choices=FormField.Kind.choices)
    # str for every kind but multiple choice (list[str]); "" when left blank; the file's name for files.
    value = models.JSONField(_("回答"), default=str, blank=True)
    file = models.FileField(_("ファイル"), upload_to=answer_file_path, max_length=300, blank=True)
    file_size = models.PositiveBigIntegerField(_("ファイルサイズ（バイト）"), null=True, blank=True)
    file_content_type = models.CharField(_("ファイルの種類"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("フォーム回答項目")
        verbose_name_plural = _("フォーム回答項目")
        constraints = [models.UniqueConstraint(fields=["response", "field"], name="formanswer_one_per_field")]

    def __str__(self) -> str:
        return self.label

    @property
    def values(self) -> list[str]:
        """The answer as a list (one item for single values, none when blank)."""
        if isinstance(self.value, list):
            return [str(item) for item in self.value]
        return [str(self.value)] if self.value not in ("", None) else []

    @property
    def text(self) -> str:
        return "、".join(self.values)

    @property
    def has_file(self) -> bool:
        return self.kind == FormField.Kind.FILE and bool(self.file)
