"""Creating a send: one transaction writes the Send, one Message per recipient and one
Delivery per recipient per channel; the delivery workers are woken on commit.

Everything a form checks is checked again here (`validate`), and the LINE rules are applied
here whatever the caller asked for, so a send created from code obeys them too.
"""

import dataclasses
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from candidates.models import Candidate
from hrmos.audit import log_action
from hrmos.models import Company, User
from messaging import bulk, kinds, live, placeholders, rendering, rules
from messaging.models import (
    AUTOMATIC_KINDS,
    INVITATION_KINDS,
    Channel,
    Delivery,
    Kind,
    Message,
    RecipientKind,
    Send,
    SendAttachment,
    uuid7,
)
from messaging.outbox import tasks
from messaging.outbox.rows import finish_send_if_complete
from messaging.placeholders import SendScope

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
SUBJECT_MAX = 200


class ComposeError(Exception):
    """Bad input for a send. `errors` maps a form field ("" for the whole form) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))
        self.errors = errors


@dataclass
class Draft:
    kind: str
    subject: str
    body: str
    send_line: bool = False
    send_email: bool = True
    recipient_type: str = RecipientKind.CANDIDATE
    include_friend_invitation: bool = False
    scheduled_at: datetime | None = None
    in_reply_to: Message | None = None
    attachments: Sequence[UploadedFile] = field(default_factory=list)
    # The compose form's hidden id: a second POST of the same form returns the first send.
    client_token: uuid.UUID | None = None
    # What the send is about, for the placeholders of the apps above: {"event": 12}.
    context: dict[str, Any] = field(default_factory=dict)

    def scope(
        self, company: Company, sender_name: str, sender_department: str = "", candidate_ids: tuple[int, ...] = ()
    ) -> SendScope:
        """What the placeholders see of this draft's send, before the send exists."""
        return SendScope(
            company=company,
            sender_name=sender_name,
            kind=self.kind,
            context=self.context,
            sender_department=sender_department,
            candidate_ids=candidate_ids,
        )

    def channels(self) -> list[str]:
        channels: list[str] = []
        if self.send_email:
            channels.append(Channel.EMAIL)
        if self.wants_line:
            channels.append(Channel.LINE)
        return channels

    @property
    def wants_line(self) -> bool:
        # Automatic kinds can never reach LINE, whatever the caller set.
        return self.send_line and rules.line_allowed_for_kind(self.kind)


def validate(
    draft: Draft, *, company: Company, recipient_count: int, now: datetime, sender_department: str = ""
) -> dict[str, list[str]]:
    """Every problem with a draft, keyed by form field. Empty when it may be sent.
    `sender_department`: the sending recruiter's, for {{送信者部署}}."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    is_line_only = not draft.send_email
    if draft.kind not in Kind.values:
        add("", "送信の種類が正しくありません。")
    if not is_line_only and not draft.subject.strip():
        add("subject", "件名を入力してください。")
    if len(draft.subject) > SUBJECT_MAX:
        add("subject", f"件名は{SUBJECT_MAX}文字以内で入力してください。")
    if not draft.body.strip():
        add("body", "本文を入力してください。")
    if recipient_count == 0:
        add("", "宛先の候補者が選択されていません。候補者一覧で送信先を選んでください。")
    if not draft.channels():
        if draft.send_line and not draft.wants_line:
            add("", "この種類のメッセージはLINEでは送信できません。メールで送信してください。")
        else:
            add("", "メールもLINEも送信しない設定になっています。送信先のチャネルを選んでください。")
    unknown = rendering.unknown_placeholders(
        draft.subject, draft.body, allow_friend_url=draft.include_friend_invitation
    )
    if unknown:
        names = "、".join("{{" + name + "}}" for name in unknown)
        if rendering.FRIEND_URL in unknown:
            add("body", f"{names} は「LINE友達登録URL」を「あり」にしたときだけ使えます。")
        else:
            add("body", f"使用できない差し込み項目があります：{names}")
    if draft.scheduled_at is not None and draft.scheduled_at <= now:
        add("scheduled_at", "送信日時には現在より後の日時を指定してください。")
    if draft.include_friend_invitation:
        if draft.kind not in INVITATION_KINDS:
            add("include_friend_invitation", "LINE友達登録URLは候補者一覧の一括送信でのみ送れます。")
        elif draft.recipient_type != RecipientKind.CANDIDATE:
            add("include_friend_invitation", "LINE友達登録URLは候補者宛てのメールにのみ入れられます。")
        elif not rules.is_linked(company):
            add("include_friend_invitation", "LINE連携が「連携中」ではないため、LINE友達登録URLは送れません。")
    if draft.wants_line and draft.body.strip() and "body" not in errors:
        text = rendering.line_text(draft.subject, draft.body)
        # Placeholders can grow the text; judge the longest plausible copy by the template.
        if len(text) > rendering.LINE_TOTAL_LIMIT:
            add(
                "body",
                f"LINEで送信できるのは{rendering.LINE_TOTAL_LIMIT:,}文字（5,000文字×5通）までです。"
                f"件名と本文で{len(text):,}文字あります。",
            )
    if draft.send_line and draft.recipient_type == RecipientKind.AGENT and is_line_only:
        add("", "エージェント宛てにはLINEメッセージを送信できません。")
    for name, message in _context_problems(draft, company):
        add(name, message)
    for name, message in sender_problems(draft, sender_department):
        add(name, message)
    return errors


def sender_problems(draft: Draft, sender_department: str) -> list[tuple[str, str]]:
    """{{送信者部署}} needs a recruiter with a department: an automatic send has no sender,
    and a recruiter without one would send an empty gap."""
    code = "{{" + rendering.SENDER_DEPARTMENT + "}}"
    used_in = [
        name
        for name, text in (("body", draft.body), ("subject", draft.subject))
        if rendering.SENDER_DEPARTMENT in rendering.placeholders_in(text)
    ]
    if not used_in:
        return []
    if draft.kind in AUTOMATIC_KINDS:
        return [(used_in[0], f"{code} は自動送信のメールでは使えません（送信する採用担当者がいないため）。")]
    if not sender_department.strip():
        return [(used_in[0], f"{code} を使うには、プロフィールで所属部署を設定してください。")]
    return []


def _context_problems(draft: Draft, company: Company) -> list[tuple[str, str]]:
    """The send's context (what it is about) and the registered placeholders that need it."""
    problems = []
    compose_kind = kinds.get(draft.kind)
    if compose_kind is not None:
        chosen = draft.context.get(compose_kind.context_key)
        if chosen not in {pk for pk, _ in compose_kind.choices(company)}:
            problems.append((compose_kind.context_key, compose_kind.missing_message()))
    for name in rendering.placeholders_in(draft.subject, draft.body):
        placeholder = placeholders.get(name)
        if placeholder is None:
            continue
        if not placeholder.available_in(draft.context):
            problems.append(("body", placeholder.unavailable_message()))
        elif placeholder.is_link and name in rendering.placeholders_in(draft.subject):
            problems.append(("subject", f"{{{{{name}}}}} は本文でのみ使えます（件名にURLは入れられません）。"))
        elif placeholder.is_link and draft.recipient_type == RecipientKind.AGENT:
            problems.append(("body", f"{{{{{name}}}}} は候補者ご本人向けのURLのため、エージェント宛てには送れません。"))
    return problems


def missing_values(draft: Draft, scope: SendScope, rows: list[tuple]) -> dict[str, list[str]]:
    """Registered value placeholders some recipient has no value for: compose refuses such a
    send, naming who (never a message with a gap where the value should be)."""
    names = [
        name
        for name in rendering.placeholders_in(draft.subject, draft.body)
        if (p := placeholders.get(name)) is not None and p.value is not None and p.available_in(draft.context)
    ]
    errors: dict[str, list[str]] = {}
    for name in names:
        placeholder = placeholders.get(name)
        assert placeholder is not None
        candidates = rows if placeholder.per_candidate else rows[:1]
        lacking = [
            f"{row[1]} {row[2]}".strip()
            for row in candidates
            if rendering.RecipientContext(row[1], row[2], "", "", candidate_id=row[0], scope=scope).registered_value(
                name
            )
            is None
        ]
        if lacking and not placeholder.per_candidate:
            errors.setdefault("body", []).append(f"{{{{{name}}}}} に差し込む値がありません。")
        elif lacking:
            who = "、".join(f"{n}さん" for n in lacking[:3]) + (f"ほか{len(lacking) - 3}名" if len(lacking) > 3 else "")
            errors.setdefault("body", []).append(f"{{{{{name}}}}} に差し込む値がない宛先があります（{who}）。")
    return errors


def preview(
    draft: Draft, *, company: Company, sender_name: str, candidate: Candidate | None, sender_department: str = ""
) -> rendering.Rendered:
    """What the first recipient would get (the timeline copy stands in for personal links)."""
    scope = draft.scope(company, sender_name, sender_department)
    context = rendering.context_for(candidate, company, sender_name, scope)
    try:
        rendered = rendering.render_for_recipient(
            draft.subject, draft.body, context, friend_invitation=draft.include_friend_invitation
        )
    except ValueError:  # too long for LINE: the preview says so, and validate() refuses it if LINE is on
        rendered = rendering.render_for_recipient(
            draft.subject, draft.body, context, friend_invitation=draft.include_friend_invitation, line=False
        )
    return dataclasses.replace(rendered, line_texts=[rendering.as_shown(text) for text in rendered.line_texts])


def _recipients(candidates: QuerySet[Candidate] | Iterable[int], company: Company) -> QuerySet[Candidate]:
    """The company's candidates among `candidates` (another company's ids match nothing)."""
    queryset = Candidate.objects.filter(company=company)
    if isinstance(candidates, QuerySet):
        return queryset.filter(pk__in=candidates.order_by().values_list("pk", flat=True))
    return queryset.filter(pk__in=list(candidates))


def _candidate_rows(queryset: QuerySet[Candidate]) -> list[tuple]:
    return list(
        queryset.order_by("pk").values_list(
            "pk",
            "last_name",
            "first_name",
            "email",
            "agent_id",
            "agent__agency_name",
            "agent__contact_name",
            "agent__contact_email",
        )
    )


def create_send(
    draft: Draft,
    *,
    company: Company,
    user: User | None,
    candidates: QuerySet[Candidate] | Iterable[int],
    now: datetime | None = None,
) -> Send:
    """Validate and write the whole send in one transaction; raises ComposeError on bad input.

    Inserts are set-based (multi-row INSERTs, see bulk.py): the compose request stays fast at
    10,000 recipients. LINE deliveries that cannot go are created already `skipped` with the
    reason; for a scheduled send they are re-judged by the worker when it goes out.

    A draft with a `client_token` that already made a send (the same form posted twice)
    returns that send and creates nothing.
    """
    earlier = submitted_send(company, draft.client_token)
    if earlier is not None:
        return earlier
    now = now or timezone.now()
    recipients = _recipients(candidates, company)
    rows = _candidate_rows(recipients)
    sender_name = user.display_name if user is not None else company.name
    sender_department = user.department if user is not None else ""
    errors = validate(draft, company=company, recipient_count=len(rows), now=now, sender_department=sender_department)
    scope = draft.scope(company, sender_name, sender_department, candidate_ids=tuple(row[0] for row in rows))
    if not errors:
        errors = missing_values(draft, scope, rows)
    if errors:
        raise ComposeError(errors)
    if draft.send_line and not draft.wants_line:
        log.info("LINE refused for automatic kind %s: email only", draft.kind)

    channels = draft.channels()
    to_agent = draft.recipient_type == RecipientKind.AGENT
    linked = Channel.LINE in channels and rules.is_linked(company)  # only LINE deliveries ask
    accounts = (
        rules.line_accounts_by_candidate(company.pk, recipients.values("pk"))
        if Channel.LINE in channels and not to_agent
        else {}
    )

    try:
        return _write_send(
            draft,
            company=company,
            user=user,
            rows=rows,
            channels=channels,
            accounts=accounts,
            linked=linked,
            now=now,
            scope=scope,
        )
    except IntegrityError:
        # The same form posted twice at once: the first insert won the unique client_token.
        earlier = submitted_send(company, draft.client_token)
        if earlier is None:
            raise
        return earlier


def submitted_send(company: Company, client_token: uuid.UUID | None) -> Send | None:
    """The send a compose form with this token already created, if any (a double submit)."""
    if client_token is None:
        return None
    return Send.objects.filter(company=company, client_token=client_token).first()


def _write_send(
    draft: Draft,
    *,
    company: Company,
    user: User | None,
    rows: list[tuple],
    channels: list[str],
    accounts: dict[int, tuple[str, str]],
    linked: bool,
    now: datetime,
    scope: SendScope,
) -> Send:
    """`scope`: the one the draft was checked with (what it loaded serves the rendering too)."""
    sender_name = user.display_name if user is not None else company.name
    scheduled = draft.scheduled_at is not None
    with transaction.atomic():
        send = Send.objects.create(
            company=company,
            created_by=user if user is not None and user.is_authenticated else None,
            sender_name=sender_name,
            sender_department=user.department if user is not None else "",
            kind=draft.kind,
            subject=draft.subject.strip(),
            body=draft.body,
            send_line=draft.wants_line,
            recipient_type=draft.recipient_type,
            include_friend_invitation=draft.include_friend_invitation,
            scheduled_at=draft.scheduled_at,
            status=Send.Status.SCHEDULED if scheduled else Send.Status.QUEUED,
            in_reply_to=draft.in_reply_to,
            recipient_count=len(rows),
            client_token=draft.client_token,
            context=draft.context,
        )
        for upload in draft.attachments:
            SendAttachment.objects.create(
                company=company,
                send=send,
                file=upload,
                name=upload.name or "",
                size=upload.size or 0,
                content_type=getattr(upload, "content_type", "") or "",
            )

        pending = _insert_rows(send, draft, rows, channels, accounts=accounts, linked=linked, now=now, scope=scope)
        live.send_written(company.pk, [row[0] for row in rows])

        if not scheduled:
            if not pending:  # every delivery skipped: the send is done already
                finish_send_if_complete(send.pk, now=now)
            tasks.wake_on_commit(send.pk, channels, len(rows))
        log_action(
            company,
            user,
            "messaging.send_scheduled" if scheduled else "messaging.send_created",
            f"{send.get_kind_display()}「{send.subject or draft.body[:20]}」{len(rows)}名",
            send_id=send.pk,
            recipients=len(rows),
            channels=channels,
            scheduled_at=draft.scheduled_at.isoformat() if draft.scheduled_at is not None else None,
        )
    return send


def _insert_rows(
    send: Send,
    draft: Draft,
    rows: list[tuple],
    channels: list[str],
    *,
    accounts: dict[int, tuple[str, str]],
    linked: bool,
    now: datetime,
    scope: SendScope,
) -> int:
    """Messages and deliveries for every recipient, as set-based inserts (see bulk.py); how
    many deliveries are still to go (not skipped)."""
    message_ids = _insert_messages(send, draft, rows, channels, now=now, scope=scope)
    return _insert_deliveries(send, draft, rows, channels, message_ids, accounts=accounts, linked=linked, now=now)


def _insert_messages(
    send: Send, draft: Draft, rows: list[tuple], channels: list[str], *, now: datetime, scope: SendScope
) -> dict[int, int]:
    """One timeline item per recipient, with their rendered copy; candidate pk → message id."""
    messages = bulk.Rows(
        Message,
        fixed={
            "company": send.company_id,
            "send": send.pk,
            "channel": channels[0],
            "direction": Message.Direction.OUT,
            "recipient_kind": draft.recipient_type,
            "occurred_at": send.scheduled_at or now,
            "created_at": now,
        },
        per_row=("candidate", "subject", "body"),
    )
    company_name = send.company.name
    message_rows = []
    for pk, last_name, first_name, *_ in rows:
        context = rendering.RecipientContext(
            last_name,
            first_name,
            company_name,
            send.sender_name,
            candidate_id=pk,
            scope=scope,
            sender_department=send.sender_department,
        )
        rendered = rendering.render_for_recipient(
            send.subject, draft.body, context, friend_invitation=draft.include_friend_invitation, line=False
        )
        message_rows.append(messages.row(candidate=pk, subject=rendered.subject[:300], body=rendered.timeline_body))
    ids = bulk.insert_with_ids(messages, message_rows)
    candidate = messages.index["candidate"]
    return {row[candidate]: message_id for message_id, row in zip(ids, message_rows, strict=True)}


@dataclass(frozen=True)
class _Target:
    recipient_name: str
    address: str
    skip_reason: str = ""


def _email_target(row: tuple, *, to_agent: bool) -> _Target:
    _, last_name, first_name, email, agent_id, agency, contact, agent_email = row
    name = f"{last_name} {first_name}".strip()
    if not to_agent:
        return _Target(name, email or "", "" if email else rules.REASON_NO_EMAIL)
    if not agent_id:
        return _Target(name, "", rules.REASON_NO_AGENT)
    reason = "" if agent_email else rules.REASON_NO_AGENT_EMAIL
    return _Target(f"{agency} {contact}".strip(), agent_email or "", reason)


def _line_target(
    row: tuple, *, draft: Draft, accounts: dict[int, tuple[str, str]], linked: bool, scheduled: bool
) -> _Target:
    pk, last_name, first_name, *_ = row
    address, why_not = rules.line_target(accounts.get(pk), recipient_kind=draft.recipient_type, linked=linked)
    # A scheduled send is judged again when it goes out; only "agent" is final now.
    final = not scheduled or draft.recipient_type == RecipientKind.AGENT
    return _Target(f"{last_name} {first_name}".strip(), address or "", why_not if final else "")


def _insert_deliveries(
    send: Send,
    draft: Draft,
    rows: list[tuple],
    channels: list[str],
    message_ids: dict[int, int],
    *,
    accounts: dict[int, tuple[str, str]],
    linked: bool,
    now: datetime,
) -> int:
    """One delivery per recipient per channel: queued (or scheduled), or skipped with the
    reason; how many are not skipped."""
    scheduled = send.scheduled_at is not None
    to_agent = draft.recipient_type == RecipientKind.AGENT
    initial = Delivery.Status.SCHEDULED if scheduled else Delivery.Status.QUEUED
    deliveries = bulk.Rows(
        Delivery,
        fixed={
            "company": send.company_id,
            "send": send.pk,
            "recipient_kind": draft.recipient_type,
            "created_at": now,
            "updated_at": now,
        },
        per_row=("id", "message", "candidate", "channel", "recipient_index", "recipient_name", "address", "status",
                 "reason"),
    )  # fmt: skip
    delivery_rows = []
    pending = 0
    for index, row in enumerate(rows):
        pk = row[0]
        for channel in channels:
            if channel == Channel.EMAIL:
                target = _email_target(row, to_agent=to_agent)
            else:
                target = _line_target(row, draft=draft, accounts=accounts, linked=linked, scheduled=scheduled)
            pending += not target.skip_reason
            delivery_rows.append(
                deliveries.row(
                    id=uuid7(),
                    message=message_ids[pk],
                    candidate=pk,
                    channel=channel,
                    recipient_index=index,
                    recipient_name=target.recipient_name[:200],
                    address=target.address,
                    status=Delivery.Status.SKIPPED if target.skip_reason else initial,
                    reason=target.skip_reason,
                )
            )
    bulk.insert_rows(deliveries, delivery_rows)
    return pending


__all__ = [
    "AUTOMATIC_KINDS",
    "ComposeError",
    "Draft",
    "create_send",
    "preview",
    "submitted_send",
    "validate",
]
