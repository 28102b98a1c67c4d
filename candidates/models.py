"""Candidates (候補者), their selection stages and recruiting agents (エージェント)."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from candidates.search import build_search_text
from hrmos.models import Company
from hrmos.tenancy import CompanyOwned

DEFAULT_STAGES: list[tuple[str, str]] = [
    ("エントリー", "open"),
    ("書類選考", "open"),
    ("一次面接", "open"),
    ("二次面接", "open"),
    ("最終面接", "open"),
    ("内定", "offer"),
    ("不採用", "rejected"),
    ("辞退", "declined"),
]


def graduation_year_bounds(today: date | None = None) -> tuple[int, int]:
    """Years a new-graduate candidate can plausibly graduate in; catches typos like 2207."""
    year = (today or timezone.localdate()).year
    return year - 5, year + 6


class Stage(CompanyOwned):
    """One step of a company's selection process, in order."""

    class Kind(models.TextChoices):
        OPEN = "open", _("選考中")
        OFFER = "offer", _("内定")
        REJECTED = "rejected", _("不採用")
        DECLINED = "declined", _("辞退")

    name = models.CharField(_("選考ステップ"), max_length=50)
    position = models.PositiveSmallIntegerField(_("順番"))
    kind = models.CharField(_("種類"), max_length=16, choices=Kind.choices, default=Kind.OPEN)

    class Meta:
        ordering = ["company", "position"]
        verbose_name = _("選考ステップ")
        verbose_name_plural = _("選考ステップ")
        constraints = [
            models.UniqueConstraint(fields=["company", "position"], name="stage_position_unique"),
            models.UniqueConstraint(fields=["company", "name"], name="stage_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


def ensure_default_stages(company: Company) -> None:
    """Give a company the standard new-graduate selection steps, once."""
    if Stage.objects.filter(company=company).exists():
        return
    Stage.objects.bulk_create(
        Stage(company=company, name=name, position=index, kind=kind)
        for index, (name, kind) in enumerate(DEFAULT_STAGES, start=1)
    )


class Agent(CompanyOwned):
    """A contact at a recruiting agency who introduced a candidate; may receive email."""

    agency_name = models.CharField(_("エージェント会社名"), max_length=200)
    contact_name = models.CharField(_("担当者名"), max_length=100, blank=True)
    contact_email = models.EmailField(_("担当者メールアドレス"), blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    class Meta:
        ordering = ["agency_name", "contact_name"]
        verbose_name = _("エージェント")
        verbose_name_plural = _("エージェント")

    def __str__(self) -> str:
        return f"{self.agency_name} {self.contact_name}".strip()


class Candidate(CompanyOwned):
    last_name = models.CharField(_("姓"), max_length=50)
    first_name = models.CharField(_("名"), max_length=50, blank=True)
    last_name_kana = models.CharField(_("セイ"), max_length=50, blank=True)
    first_name_kana = models.CharField(_("メイ"), max_length=50, blank=True)
    email = models.EmailField(_("メールアドレス"), blank=True)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    university = models.CharField(_("大学"), max_length=100, blank=True)
    faculty = models.CharField(_("学部・学科"), max_length=100, blank=True)
    graduation_year = models.PositiveSmallIntegerField(_("卒業年度"), null=True, blank=True)
    stage = models.ForeignKey(
        Stage, verbose_name=_("選考ステップ"), on_delete=models.PROTECT, related_name="candidates"
    )
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("エージェント"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="candidates",
    )
    memo = models.TextField(_("メモ"), blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    # Denormalised for the one-box search (see candidates/search.py): one trigram GIN index on
    # PostgreSQL serves name, kana, email and university. Kept current by prepare_for_save(),
    # which bulk_create callers must call themselves.
    search_text = models.TextField(_("検索用テキスト"), editable=False, blank=True, default="")

    class Meta:
        verbose_name = _("候補者")
        verbose_name_plural = _("候補者")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "company",
                condition=~models.Q(email=""),
                name="candidate_email_unique_per_company",
                violation_error_message=_("このメールアドレスの候補者はすでに登録されています。"),
            ),
        ]
        indexes = [
            # One index per list ordering (see listing.SORTS), each led by company and ending in
            # the order's tie-breakers, so finding a page's ids is an index-only scan, not a sort.
            # The graduation-year orders (NULLS LAST) and the trigram search index are created on
            # PostgreSQL only, by migrations 0003 and 0004: SQLite cannot express them.
            models.Index(fields=["company", "-created_at", "-id"], name="candidate_company_created"),
            models.Index(fields=["company", "stage", "-created_at", "-id"], name="cand_company_stage_created"),
            models.Index(fields=["company", "graduation_year"], name="candidate_company_gradyear"),
            models.Index(fields=["company", "last_name_kana", "first_name_kana", "id"], name="candidate_company_kana"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()

    @property
    def kana(self) -> str:
        return f"{self.last_name_kana} {self.first_name_kana}".strip()

    def prepare_for_save(self) -> None:
        """Normalise the email and refresh search_text; save() calls it, bulk_create callers must."""
        self.email = self.email.strip().lower()
        self.search_text = build_search_text(
            last_name=self.last_name,
            first_name=self.first_name,
            last_name_kana=self.last_name_kana,
            first_name_kana=self.first_name_kana,
            email=self.email,
            university=self.university,
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.prepare_for_save()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "email", "search_text"}
        super().save(*args, **kwargs)


IMPORT_BATCH_LIFETIME = timedelta(hours=24)


class ImportBatch(CompanyOwned):
    """An uploaded CSV between its preview and the confirmed import.

    The decoded rows live here rather than in the session: they can be megabytes, and the
    session row is read on every request. Deleted on import; stale ones are purged on upload.
    """

    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("取り込んだ採用担当者"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    filename = models.CharField(_("ファイル名"), max_length=255)
    encoding = models.CharField(_("文字コード"), max_length=20)
    headers = models.JSONField(_("見出し行"), default=list)
    rows = models.JSONField(_("行データ"), default=list)  # list[list[str]], the data rows without the header
    mapping = models.JSONField(_("列の対応"), default=list)  # one target field key per column; "" = not imported
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("CSVインポート")
        verbose_name_plural = _("CSVインポート")

    def __str__(self) -> str:
        return self.filename

    @property
    def expires_at(self) -> datetime:
        return self.created_at + IMPORT_BATCH_LIFETIME

    @classmethod
    def purge_stale(cls) -> int:
        deleted, _ = cls.objects.filter(created_at__lt=timezone.now() - IMPORT_BATCH_LIFETIME).delete()
        return deleted
