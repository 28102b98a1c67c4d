"""What messages say about interviews, and the two automatic emails (email only):
`scheduling_confirmation` when a booking is made, changed or cancelled, with an .ics
(REQUEST, or CANCEL with the same UID and a higher SEQUENCE), and `interview_reminder` the day
before a confirmed interview.

`{{面接日時}}`, `{{面接場所}}`, `{{面接URL}}` and `{{選考ステップ}}` are the interview the send
is about (`context["interview"]`), else the candidate's booking for the send's schedule, else
their next confirmed interview. A recipient with none has no value, and compose refuses the
send naming them rather than sending a gap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from messaging import calendar
from messaging.models import Kind
from messaging.placeholders import Placeholder, Recipient
from messaging.sending import automatic
from messaging.sending.compose import ComposeError
from selection.models import Interview, SchedulingRequest

logger = logging.getLogger(__name__)

INTERVIEW = "interview"
EVENT = "scheduling_event"  # what happened, for {{日程調整の内容}}: one of EVENTS
BOOKED, CHANGED, CANCELLED = "booked", "changed", "cancelled"
EVENTS = {
    BOOKED: "以下の日時で面接のご予約を承りました。",
    CHANGED: "面接の日時を以下に変更しました。",
    CANCELLED: "以下の面接をキャンセルしました。",
}
WEEKDAYS = "月火水木金土日"


def when_text(interview: Interview) -> str:
    start, end = timezone.localtime(interview.start_at), timezone.localtime(interview.end_at)
    return f"{start:%Y年%-m月%-d日}（{WEEKDAYS[start.weekday()]}）{start:%H:%M}〜{end:%H:%M}"


def place_text(interview: Interview) -> str:
    parts = [interview.place, interview.room.name if interview.room else ""]
    text = " ".join(part for part in parts if part)
    return text or ("オンライン" if interview.online_url else "別途ご案内します")


def interview_of(recipient: Recipient) -> Interview | None:
    if recipient.candidate_id is None:
        return None
    if recipient.scope.context.get(INTERVIEW) is not None:  # loaded once per send, not per placeholder
        interview = recipient.scope.related(Interview, INTERVIEW)
        return interview if interview is not None and interview.candidate_id == recipient.candidate_id else None
    interviews = Interview.objects.filter(company=recipient.company, candidate_id=recipient.candidate_id)
    interviews = interviews.select_related("room", "stage")
    holding = interviews.filter(status=Interview.Status.CONFIRMED)
    schedule = recipient.scope.context.get("schedule")
    if isinstance(schedule, int):
        return holding.filter(schedule_id=schedule).order_by("start_at").first()
    return holding.filter(start_at__gt=timezone.now()).order_by("start_at").first()


def _value(text: Callable[[Interview], str]) -> Callable[[Recipient], str | None]:
    def value(recipient: Recipient) -> str | None:
        interview = interview_of(recipient)
        return text(interview) if interview is not None else None

    return value


def stage_text(interview: Interview) -> str:
    return interview.stage.name if interview.stage else "面接"


def interview_stage(recipient: Recipient) -> str | None:
    """The interview's step in a send about an interview or a schedule; elsewhere None, so the
    earlier registration of {{選考ステップ}} (the candidate's or the result's step) serves."""
    context = recipient.scope.context
    if context.get(INTERVIEW) is None and context.get("schedule") is None:
        return None
    interview = interview_of(recipient)
    return stage_text(interview) if interview is not None else None


def event_text(recipient: Recipient) -> str | None:
    return EVENTS.get(str(recipient.scope.context.get(EVENT)))


HELP_SUFFIX = "（面接が登録されている候補者のみ）"
PLACEHOLDERS = (
    Placeholder("面接日時", "面接の日時" + HELP_SUFFIX, value=_value(when_text), order=62),
    Placeholder("面接場所", "面接の場所・会議室" + HELP_SUFFIX, value=_value(place_text), order=63),
    Placeholder(
        "面接URL",
        "オンライン面接のURL（なければ「なし」）" + HELP_SUFFIX,
        value=_value(lambda i: i.online_url or "なし"),
        order=64,
    ),
    Placeholder("選考ステップ", "選考ステップ（面接の案内では面接の選考ステップ）", value=interview_stage, order=65),
    Placeholder(
        "日程調整の内容",
        "予約・変更・キャンセルのどれか（例: 以下の日時で面接のご予約を承りました。）",
        needs=EVENT,
        needs_label="日程調整の回答",
        value=event_text,
        per_candidate=False,
        unavailable="{{日程調整の内容}} は日程調整の回答時の確認メール（自動送信）でのみ使えます。",
        order=66,
    ),
)

CONFIRMATION_SUBJECT = "【{{企業名}}】{{選考ステップ}}の日程について"
CONFIRMATION_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当です。
{{日程調整の内容}}

■ 選考ステップ：{{選考ステップ}}
■ 日時：{{面接日時}}
■ 場所：{{面接場所}}
■ オンライン面接URL：{{面接URL}}

日程の変更・キャンセルは、以下のURLから行えます（面接の前日まで）。
{{日程調整URL}}

ご不明な点がございましたら、採用担当までお問い合わせください。
"""
REMINDER_SUBJECT = "【{{企業名}}】明日の{{選考ステップ}}のご案内"
REMINDER_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当です。
明日の{{選考ステップ}}について、ご案内いたします。

■ 日時：{{面接日時}}
■ 場所：{{面接場所}}
■ オンライン面接URL：{{面接URL}}

当日お会いできることを楽しみにしております。
ご都合が悪くなった場合は、お早めに採用担当までご連絡ください。
"""
ANSWER_REMINDER_SUBJECT = "【{{企業名}}】{{日程調整名}}の日程のご回答のお願い"
ANSWER_REMINDER_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当です。
先日ご案内した{{日程調整名}}の日程について、まだご回答をいただいておりません。
以下のURLから、ご都合のよい日時をお選びください。

{{日程調整URL}}

すでにご連絡をいただいている場合は、行き違いですのでご容赦ください。
"""
CONFIRMATION_KIND = automatic.AutomaticKind(
    Kind.SCHEDULING_CONFIRMATION,
    default_subject=CONFIRMATION_SUBJECT,
    default_body=CONFIRMATION_BODY,
    trigger="候補者が日程調整で面接を予約・変更・キャンセルしたとき（採用担当者がキャンセルしたときも）",
    placeholders=("日程調整の内容", "選考ステップ", "面接日時", "面接場所", "面接URL", "日程調整URL"),
)
REMINDER_KIND = automatic.AutomaticKind(
    Kind.INTERVIEW_REMINDER,
    default_subject=REMINDER_SUBJECT,
    default_body=REMINDER_BODY,
    trigger="確定した面接の前日（指定の時刻）",
    placeholders=("選考ステップ", "面接日時", "面接場所", "面接URL"),
    can_disable=True,
    has_hour=True,
)


ANSWER_REMINDER_KIND = automatic.AutomaticKind(
    Kind.SCHEDULING_ANSWER_REMINDER,
    default_subject=ANSWER_REMINDER_SUBJECT,
    default_body=ANSWER_REMINDER_BODY,
    trigger="日程調整の依頼に未回答のまま、日程調整ごとの日数がたったとき（最大3回、指定の時刻以降）",
    placeholders=("日程調整名", "日程調整URL"),
    can_disable=True,
    has_hour=True,
)


def appointment(interview: Interview) -> calendar.Appointment:
    company = interview.company
    return calendar.Appointment(
        uid=f"interview-{interview.pk}@{company.public_id}",
        start=interview.start_at,
        end=interview.end_at,
        summary=f"{company.name} {stage_text(interview)}",
        location=interview.online_url or place_text(interview),
        sequence=interview.sequence,
    )


def send_confirmation(interview: Interview, event: str) -> None:
    """The scheduling_confirmation email for a booking made, changed or cancelled, in the
    caller's transaction so it commits with the change. A text that cannot be rendered is
    logged and skipped: the booking is never lost over an email."""
    company = interview.company
    template = automatic.template_for(company, Kind.SCHEDULING_CONFIRMATION)
    context: dict[str, object] = {INTERVIEW: interview.pk, EVENT: event}
    if interview.schedule_id is not None:
        context["schedule"] = interview.schedule_id
    try:
        automatic.send_automatic(
            Kind.SCHEDULING_CONFIRMATION,
            company=company,
            candidate=interview.candidate,
            subject=template.subject,
            body=template.body,
            context=context,
            attachments=[calendar.invitation(appointment(interview), cancelled=event == CANCELLED)],
            once_key=f"{Kind.SCHEDULING_CONFIRMATION}:{interview.pk}:{interview.sequence}:{event}",
        )
    except ComposeError as refused:
        logger.warning("Scheduling confirmation not sent: interview=%s: %s", interview.pk, refused)


def send_answer_reminder(request: SchedulingRequest, number: int) -> bool:
    """The `number`th reminder to answer a scheduling request, at most once. True when sent."""
    template = automatic.template_for(request.company, Kind.SCHEDULING_ANSWER_REMINDER)
    try:
        send = automatic.send_automatic(
            Kind.SCHEDULING_ANSWER_REMINDER,
            company=request.company,
            candidate=request.candidate,
            subject=template.subject,
            body=template.body,
            context={"schedule": request.schedule_id},
            once_key=f"{Kind.SCHEDULING_ANSWER_REMINDER}:{request.pk}:{number}",
        )
    except ComposeError as refused:
        logger.warning("Answer reminder not sent: request=%s: %s", request.pk, refused)
        return False
    return send is not None


def reminder_key(interview: Interview) -> str:
    return f"{Kind.INTERVIEW_REMINDER}:{interview.pk}:{interview.start_at.isoformat()}"


def send_reminder(interview: Interview, now: datetime) -> bool:
    """The interview_reminder email, at most once per interview and start time (a moved
    interview gets one for its new time). True when this call wrote it."""
    template = automatic.template_for(interview.company, Kind.INTERVIEW_REMINDER)
    try:
        send = automatic.send_automatic(
            Kind.INTERVIEW_REMINDER,
            company=interview.company,
            candidate=interview.candidate,
            subject=template.subject,
            body=template.body,
            context={INTERVIEW: interview.pk},
            once_key=reminder_key(interview),
        )
    except ComposeError as refused:
        logger.warning("Interview reminder not sent: interview=%s: %s", interview.pk, refused)
        return False
    return send is not None
