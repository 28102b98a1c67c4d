"""The tenancy core: companies, the recruiters who belong to them, and their audit trail."""

import secrets
import string

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

PUBLIC_ID_ALPHABET = string.ascii_lowercase + string.digits
PUBLIC_ID_LENGTH = 16


def new_public_id() -> str:
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


class Company(models.Model):
    """A tenant. `public_id` appears in public URLs (LINE callback and webhook), never the pk."""

    name = models.CharField(_("企業名"), max_length=200)
    public_id = models.CharField(_("企業ID"), max_length=32, unique=True, default=new_public_id, editable=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("企業")
        verbose_name_plural = _("企業")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A recruiter (採用担当者). Staff-only accounts may have no company; they use the admin only."""

    company = models.ForeignKey(
        Company, verbose_name=_("企業"), on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    # Shown to candidates as {{送信者部署}} in the messages this recruiter sends.
    department = models.CharField(_("所属部署"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("採用担当者")
        verbose_name_plural = _("採用担当者")

    @property
    def display_name(self) -> str:
        return (f"{self.last_name} {self.first_name}".strip()) or self.username


class AuditEvent(models.Model):
    """Who did what, when: links, unlinks, sends, cancellations. Never holds a secret's value."""

    company = models.ForeignKey(Company, verbose_name=_("企業"), on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作した人"), on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(_("操作"), max_length=64)
    summary = models.CharField(_("概要"), max_length=300, blank=True)
    data = models.JSONField(_("詳細データ"), default=dict, blank=True)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("操作履歴")
        verbose_name_plural = _("操作履歴")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "action", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.summary}"
