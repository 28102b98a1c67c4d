"""What events say to candidates through messaging: the two manual kinds a recruiter composes
(イベント案内 and participants' メッセージ送信; the LINE switch is offered) and the two
automatic email-only kinds (the application confirmation on apply, change and cancel, with a
calendar file, and the day-before reminder).

An automatic email's context names the event, the application and what happened
(`{"event": pk, "application": pk, "action": "apply"}`); `{{申込状況}}` says it in words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from events.links import APPLICATION, EVENT, all_event_choices, date_text, event_choices
from events.models import Application, Event
from messaging import calendar, rendering
from messaging.kinds import ComposeKind
from messaging.message_templates import texts
from messaging.models import Kind
from messaging.placeholders import Placeholder, Recipient
from messaging.sending import automatic
from messaging.sending.automatic import AutomaticKind
from messaging.sending.compose import ComposeError

logger = logging.getLogger(__name__)

ACTION = "action"
APPLY, CHANGE, CANCEL, DATE_CANCELLED, ALREADY = "apply", "change", "cancel", "date_cancelled", "already"
ACTION_TEXTS = {
    APPLY: "以下の日程でお申し込みを受け付けました。",
    CHANGE: "お申し込みの日程を以下に変更しました。",
    CANCEL: "以下の日程のお申し込みをキャンセルしました。",
    DATE_CANCELLED: "誠に申し訳ございませんが、以下の日程は開催中止となりました。お申し込みはキャンセルとなります。",
    ALREADY: "すでに以下の日程でお申し込みいただいています。",
}

# ---------------------------------------------------------------------------- manual kinds

INVITATION_SUBJECT = "【{{企業名}}】{{イベント名}}のご案内"
INVITATION_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当の{{送信者名}}です。
「{{イベント名}}」を開催いたします。ぜひご参加ください。

■ 日程
{{開催日時}}
■ 会場
{{会場}}
■ 持ち物
{{持ち物}}

以下のURLからお申し込みください（{{候補者氏名}} 様専用のURLです）。
{{イベント申込URL}}
"""
INVITATION_KIND = ComposeKind(
    Kind.EVENT_INVITATION,
    "イベント案内",
    context_key=EVENT,
    context_label="イベント",
    choices=event_choices,
    initial_subject=INVITATION_SUBJECT,
    initial_body=INVITATION_BODY,
)

MESSAGE_SUBJECT = "【{{企業名}}】{{イベント名}}について"
MESSAGE_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当の{{送信者名}}です。
「{{イベント名}}」（{{開催日時}}）について、ご連絡いたします。


"""
MESSAGE_KIND = ComposeKind(
    Kind.EVENT_MESSAGE,
    "メッセージ送信（イベント参加者）",
    context_key=EVENT,
    context_label="イベント",
    choices=all_event_choices,
    initial_subject=MESSAGE_SUBJECT,
    initial_body=MESSAGE_BODY,
)

# ---------------------------------------------------------------------------- automatic kinds

CONFIRMATION_SUBJECT = "【{{企業名}}】{{イベント名}} お申し込み内容のご連絡"
CONFIRMATION_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当です。
「{{イベント名}}」について、{{申込状況}}

■ 開催日時
{{開催日時}}
■ 会場
{{会場}}
■ 持ち物
{{持ち物}}

日程の変更・キャンセル、別の日程へのお申し込みは、以下のURLから行えます（{{候補者氏名}} 様専用のURLです）。
{{イベント申込URL}}
"""
REMINDER_SUBJECT = "【{{企業名}}】明日は{{イベント名}}です"
REMINDER_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当です。
明日は「{{イベント名}}」の開催日です。ご参加をお待ちしております。

■ 開催日時
{{開催日時}}
■ 会場
{{会場}}
■ 持ち物
{{持ち物}}

ご都合が悪くなった場合は、以下のURLからご連絡ください。
{{イベント申込URL}}
"""
PLACEHOLDER_NAMES = ("イベント名", "開催日時", "会場", "持ち物", "イベント申込URL")
CONFIRMATION_KIND = automatic.AutomaticKind(
    Kind.EVENT_APPLICATION_CONFIRMATION,
    default_subject=CONFIRMATION_SUBJECT,
    default_body=CONFIRMATION_BODY,
    trigger="イベントの申込・日程変更・キャンセル時（候補者・採用担当者のどちらの操作でも）",
    placeholders=(*PLACEHOLDER_NAMES, "申込状況"),
)
REMINDER_KIND = automatic.AutomaticKind(
    Kind.EVENT_REMINDER,
    default_subject=REMINDER_SUBJECT,
    default_body=REMINDER_BODY,
    trigger="イベント開催日の前日（指定の時刻）",
    placeholders=PLACEHOLDER_NAMES,
    can_disable=True,
    has_hour=True,
)


def action_text(recipient: Recipient) -> str | None:
    return ACTION_TEXTS.get(str(recipient.scope.context.get(ACTION, "")))


PLACEHOLDERS = (
    Placeholder(
        "申込状況",
        "申込・日程変更・キャンセルのどれを受け付けたか（1文）",
        needs=ACTION,
        needs_label="イベントの申込",
        value=action_text,
        per_candidate=False,
        unavailable="{{申込状況}} はイベント申し込み完了時の確認メール（自動送信）でのみ使えます。",
        order=45,
    ),
)


def texts_for(event: Event, kind: str) -> tuple[str, str]:
    """The subject and body this event's automatic email of `kind` goes out with."""
    template = automatic.template_for(event.company, kind)
    if kind == Kind.EVENT_REMINDER:
        return event.reminder_subject or template.subject, event.reminder_body or template.body
    return event.confirmation_subject or template.subject, event.confirmation_body or template.body


@dataclass(frozen=True)
class Preview:
    title: str
    subject: str
    body: str


def previews(event: Event) -> list[Preview]:
    """This event's automatic emails as the company's first candidate would get them for its
    first date (the personal URL shown as a stand-in)."""
    date = event.dates.filter(cancelled_at__isnull=True).first() or event.dates.first()
    values = {
        "イベント名": event.title,
        "開催日時": date_text(date) if date else "（日程）",
        "会場": (date.venue() if date else event.venue()) or "（追ってご案内します）",
        "持ち物": event.belongings or "特にありません",
        "申込状況": ACTION_TEXTS[APPLY],
    }
    sample = texts.sample_recipient(event.company)
    shown = []
    for title, kind in (
        ("申込確認メール", Kind.EVENT_APPLICATION_CONFIRMATION),
        ("前日リマインド", Kind.EVENT_REMINDER),
    ):
        subject, body = (rendering.render(text, values) for text in texts_for(event, kind))
        preview = texts.sample_preview(event.company, subject, body, sample=sample, sender_name=event.company.name)
        shown.append(Preview(title, preview.subject, preview.body))
    return shown


def refused_placeholders(kind: AutomaticKind, *parts: str) -> list[str]:
    """The placeholders in `parts` (a subject, a body) this automatic kind cannot fill."""
    allowed = set(texts.automatic_allowed(kind.placeholders))
    return [name for name in rendering.placeholders_in(*parts) if name not in allowed]


def _calendar_file(application: Application, cancelled: bool) -> calendar.Attachment:
    date, event = application.date, application.event
    appointment = calendar.Appointment(
        uid=f"event-application-{application.pk}@{event.company.public_id}",
        start=date.starts_at,
        end=date.ends_at,
        summary=event.title,
        location=date.venue(),
        description=event.description[:1000],
        sequence=application.sequence,
    )
    return calendar.invitation(appointment, cancelled=cancelled)


def send_confirmation(application: Application, action: str) -> None:
    """The event_application_confirmation email (email only) for what just happened to this
    application, in the caller's transaction. Once per change of the application (its
    sequence), except ALREADY, which changes nothing. A template that cannot be sent is
    logged and skipped: the application is never lost over an email."""
    event = application.event
    company = event.company
    subject, body = texts_for(event, Kind.EVENT_APPLICATION_CONFIRMATION)
    cancelled = action in (CANCEL, DATE_CANCELLED)
    once_key = None
    if action != ALREADY:
        once_key = f"{Kind.EVENT_APPLICATION_CONFIRMATION}:{application.pk}:{application.sequence}"
    try:
        automatic.send_automatic(
            Kind.EVENT_APPLICATION_CONFIRMATION,
            company=company,
            candidate=application.candidate,
            subject=subject,
            body=body,
            context={EVENT: application.event_id, APPLICATION: application.pk, ACTION: action},
            attachments=[_calendar_file(application, cancelled)],
            once_key=once_key,
        )
    except ComposeError as refused:
        logger.warning("Event confirmation not sent: application=%s: %s", application.pk, refused)


def reminder_key(application: Application) -> str:
    """One reminder per application and date-time: a move to another date (or a date moved to
    another time) earns a new one."""
    return f"{Kind.EVENT_REMINDER}:{application.pk}:{application.date_id}:{application.date.starts_at:%Y%m%dT%H%M}"


def send_reminders(applications: list[Application], template: automatic.Template) -> int:
    """The event_reminder email for these applications of one event as one send, each exactly
    once; how many were sent now. When the send is refused (a candidate lacks a value), each
    goes on its own, so one that cannot be sent does not hold back the others."""
    if not applications:
        return 0
    event = applications[0].event
    try:
        send = automatic.send_automatic_many(
            Kind.EVENT_REMINDER,
            company=event.company,
            once_keys={application.candidate_id: reminder_key(application) for application in applications},
            subject=event.reminder_subject or template.subject,
            body=event.reminder_body or template.body,
            context={EVENT: event.pk},
        )
    except ComposeError as refused:
        logger.warning("Event reminders sent one by one: event=%s: %s", event.pk, refused)
        return sum(send_reminder(application, template) for application in applications)
    return send.recipient_count if send is not None else 0


def send_reminder(application: Application, template: automatic.Template) -> bool:
    """The event_reminder email for this application, exactly once; False if sent before."""
    try:
        send = automatic.send_automatic(
            Kind.EVENT_REMINDER,
            company=application.event.company,
            candidate=application.candidate,
            subject=application.event.reminder_subject or template.subject,
            body=application.event.reminder_body or template.body,
            context={EVENT: application.event_id, APPLICATION: application.pk},
            once_key=reminder_key(application),
        )
    except ComposeError as refused:
        logger.warning("Event reminder not sent: application=%s: %s", application.pk, refused)
        return False
    return send is not None
