"""Candidates (候補者), their selection stages and recruiting agents (エージェント)."""

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

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
    created_at = models.DateTimeField(auto_now_add=True)

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
            models.Index(fields=["company", "-created_at", "-id"], name="candidate_company_created"),
            models.Index(fields=["company", "stage"], name="candidate_company_stage"),
            models.Index(fields=["company", "graduation_year"], name="candidate_company_gradyear"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()

    @property
    def kana(self) -> str:
        return f"{self.last_name_kana} {self.first_name_kana}".strip()

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)
