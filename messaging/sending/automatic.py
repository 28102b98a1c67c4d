"""Automatic messages (自動送信): confirmations, reminders and notices the apps above send
without a recruiter composing them. Always email only: the pipeline never creates a LINE
delivery for an automatic kind (the reference's rule), whatever the caller asks.

Each automatic kind is registered by the app that sends it (`register`: its default subject
and body, whether the company may turn it off, whether it goes at a company-wide hour); a
company's own template and switch for it are an `AutomaticMessageSetting`, read with
`template_for(company, kind)` (the 自動送信メール設定 page edits them).

`send_automatic` runs in the caller's transaction, so a confirmation commits (or not) with
the application or booking it confirms. With `once_key` it inserts a unique
`AutomaticSendKey` first: a reminder tick that runs twice, concurrently or again after a
crash finds the key and sends nothing; on PostgreSQL a concurrent insert of the same key waits
for the first transaction and then fails, so exactly one of them sends.

`send_automatic_many` is the same for many candidates at once (a reminder tick): their keys
are claimed in one `INSERT … ON CONFLICT DO NOTHING RETURNING`, and one send goes to the
candidates whose key this transaction inserted. On PostgreSQL a key another transaction is
inserting makes the statement wait for it: committed, the key is not ours; rolled back, it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from candidates.models import Candidate
from hrmos.models import Company
from messaging.models import AUTOMATIC_KINDS, AutomaticMessageSetting, AutomaticSendKey, Kind, Send
from messaging.sending.compose import Draft, create_send

log = logging.getLogger(__name__)

# (file name, content, content type), e.g. ("event.ics", b"BEGIN:VCALENDAR…", "text/calendar")
Attachment = tuple[str, bytes, str]
DEFAULT_HOUR = 10


@dataclass(frozen=True)
class AutomaticKind:
    """What the app sending an automatic kind declares about it."""

    kind: str
    default_subject: str
    default_body: str
    trigger: str  # when it goes, for the settings page: 「イベントの申込・変更・キャンセル時」
    placeholders: tuple[str, ...] = ()  # registered placeholder names its text may use
    can_disable: bool = False  # the reference lets reminders and result notices be turned off
    has_hour: bool = False  # goes at a company-wide hour of the day before (reminders)
    settings_url_name: str = ""  # a page of the app's own for finer settings (e.g. per stage)

    @property
    def label(self) -> str:
        return str(Kind(self.kind).label)


@dataclass(frozen=True)
class Template:
    """A company's text, switch and hour for one automatic kind (its settings or the defaults)."""

    subject: str
    body: str
    enabled: bool
    hour: int


_kinds: dict[str, AutomaticKind] = {}


def register(automatic_kind: AutomaticKind) -> None:
    if automatic_kind.kind not in AUTOMATIC_KINDS:
        raise ValueError(f"{automatic_kind.kind} is not an automatic kind")
    _kinds[automatic_kind.kind] = automatic_kind


def registered() -> list[AutomaticKind]:
    order = list(Kind.values)
    return sorted(_kinds.values(), key=lambda k: order.index(k.kind))


def kind_info(kind: str) -> AutomaticKind | None:
    return _kinds.get(kind)


def template_for(company: Company, kind: str) -> Template:
    """The company's template for `kind`, or the registered defaults. A kind that cannot be
    turned off is always enabled, whatever an old row says."""
    info = _kinds.get(kind)
    if info is None:
        raise LookupError(f"no automatic kind {kind} is registered")
    setting = AutomaticMessageSetting.objects.filter(company=company, kind=kind).first()
    if setting is None:
        return Template(info.default_subject, info.default_body, True, DEFAULT_HOUR)
    return Template(
        subject=setting.subject or info.default_subject,
        body=setting.body or info.default_body,
        enabled=setting.enabled or not info.can_disable,
        hour=setting.hour if setting.hour is not None else DEFAULT_HOUR,
    )


def send_automatic(
    kind: str,
    *,
    company: Company,
    candidate: Candidate,
    subject: str,
    body: str,
    context: Mapping[str, Any] | None = None,
    attachments: Sequence[Attachment] = (),
    once_key: str | None = None,
    scheduled_at: datetime | None = None,
) -> Send | None:
    """Write an automatic email to one candidate (placeholders rendered for them); None when
    `once_key` was used already. Raises `ComposeError` for what compose would refuse (e.g. a
    placeholder with no value): the caller decides whether that fails its own operation."""
    if kind not in AUTOMATIC_KINDS:
        raise ValueError(f"{kind} is not an automatic kind")
    draft = Draft(
        kind=kind,
        subject=subject,
        body=body,
        send_line=False,
        context=dict(context or {}),
        scheduled_at=scheduled_at,
        attachments=[SimpleUploadedFile(name, data, content_type) for name, data, content_type in attachments],
    )
    with transaction.atomic():
        key = None
        if once_key is not None:
            key = _claim_key(company, once_key)
            if key is None:
                log.info("automatic %s for candidate %s: %s was sent already", kind, candidate.pk, once_key)
                return None
        send = create_send(draft, company=company, user=None, candidates=[candidate.pk])
        if key is not None:
            AutomaticSendKey.objects.filter(pk=key.pk).update(send=send)
    return send


def send_automatic_many(
    kind: str,
    *,
    company: Company,
    once_keys: Mapping[int, str],
    subject: str,
    body: str,
    context: Mapping[str, Any] | None = None,
) -> Send | None:
    """One automatic email send to every candidate (pk → once key) whose key was not used yet,
    each rendered for them; None when every key was used already. Raises `ComposeError` like
    `send_automatic` (nothing is claimed then). The keys and the send commit together."""
    if kind not in AUTOMATIC_KINDS:
        raise ValueError(f"{kind} is not an automatic kind")
    draft = Draft(kind=kind, subject=subject, body=body, send_line=False, context=dict(context or {}))
    with transaction.atomic():
        claimed = claim_keys(company, [key[:200] for key in once_keys.values()])
        candidates = [pk for pk, key in once_keys.items() if key[:200] in claimed]
        if len(candidates) < len(once_keys):
            log.info("automatic %s: %s of %s were sent already", kind, len(once_keys) - len(candidates), len(once_keys))
        if not candidates:
            return None
        send = create_send(draft, company=company, user=None, candidates=candidates)
        AutomaticSendKey.objects.filter(company=company, key__in=claimed).update(send=send)
    return send


def claim_keys(company: Company, keys: Sequence[str]) -> set[str]:
    """Insert the keys not there yet, in one statement (sorted, so two claims of overlapping
    keys wait for each other in the same order); the keys this transaction inserted."""
    if not keys:
        return set()
    created_at = AutomaticSendKey._meta.get_field("created_at").get_db_prep_value(timezone.now(), connection)
    ordered = sorted(set(keys))
    rows = ", ".join(["(%s, %s, %s)"] * len(ordered))
    params = [value for key in ordered for value in (company.pk, key, created_at)]
    table, company_id, key, created = (
        connection.ops.quote_name(name) for name in (AutomaticSendKey._meta.db_table, "company_id", "key", "created_at")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({company_id}, {key}, {created}) VALUES {rows} "  # noqa: S608 (names only)
            f"ON CONFLICT ({company_id}, {key}) DO NOTHING RETURNING {key}",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def _claim_key(company: Company, once_key: str) -> AutomaticSendKey | None:
    try:
        with transaction.atomic():
            return AutomaticSendKey.objects.create(company=company, key=once_key[:200])
    except IntegrityError:
        return None


def was_sent(company: Company, once_key: str) -> bool:
    return AutomaticSendKey.objects.filter(company=company, key=once_key[:200]).exists()
