"""Saving and deleting templates, and a company's automatic email settings. Each change is
audit-logged in its own transaction."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from hrmos.audit import log_action
from hrmos.models import Company, User
from messaging.models import AutomaticMessageSetting, Kind, MessageTemplate
from messaging.sending.automatic import AutomaticKind


class DuplicateName(Exception):
    """Another template of the company took the name meanwhile (two saves at once)."""


def save_template(template: MessageTemplate, *, user: User, copied_from: MessageTemplate | None = None) -> None:
    """Create or update `template` (its company already set)."""
    created = template.pk is None
    template.updated_by = user
    if created:
        template.created_by = user
    try:
        with transaction.atomic():
            template.save()
            if copied_from is not None:
                action = "messaging.template_copied"
                summary = f"「{copied_from.name}」をコピーして「{template.name}」を作成しました"
            elif created:
                action, summary = "messaging.template_created", f"「{template.name}」を作成しました"
            else:
                action, summary = "messaging.template_updated", f"「{template.name}」を更新しました"
            log_action(
                template.company,
                user,
                action,
                f"メッセージテンプレート{summary}",
                template_id=template.pk,
                copied_from=copied_from.pk if copied_from is not None else None,
            )
    except IntegrityError as exc:
        if created:
            template.pk = None
        raise DuplicateName(template.name) from exc


def delete_template(template: MessageTemplate, *, user: User) -> None:
    with transaction.atomic():
        template_id, name = template.pk, template.name
        template.delete()
        log_action(
            template.company,
            user,
            "messaging.template_deleted",
            f"メッセージテンプレート「{name}」を削除しました",
            template_id=template_id,
        )


def save_automatic_setting(
    company: Company, info: AutomaticKind, *, subject: str, body: str, enabled: bool, hour: int | None, user: User
) -> AutomaticMessageSetting:
    """The company's text (and switch and hour, where the kind has them) for one automatic kind.
    A kind that cannot be turned off is stored on; one without an hour stores none."""
    values = {
        "subject": subject,
        "body": body,
        "enabled": enabled or not info.can_disable,
        "hour": hour if info.has_hour else None,
        "updated_by": user,
    }
    with transaction.atomic():
        setting, created = AutomaticMessageSetting.objects.update_or_create(
            company=company, kind=info.kind, defaults=values
        )
        log_action(
            company,
            user,
            "messaging.automatic_setting_updated",
            f"自動送信メール「{Kind(info.kind).label}」の設定を{'保存' if created else '変更'}しました",
            kind=info.kind,
            enabled=setting.enabled,
            hour=setting.hour,
        )
    return setting


def reset_automatic_setting(company: Company, info: AutomaticKind, *, user: User) -> bool:
    """Back to the kind's defaults; False when there was nothing to reset."""
    with transaction.atomic():
        deleted, _ = AutomaticMessageSetting.objects.filter(company=company, kind=info.kind).delete()
        if deleted:
            log_action(
                company,
                user,
                "messaging.automatic_setting_reset",
                f"自動送信メール「{Kind(info.kind).label}」を初期設定に戻しました",
                kind=info.kind,
            )
    return bool(deleted)
