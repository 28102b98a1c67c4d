"""The automatic result notice (kind selection_result, email only): its default text, its
placeholders, each stage and result's timing, and writing or cancelling one notice.

A notice is an automatic send made when the result is recorded: with a delay it is a
scheduled send (送信予約), so it shows in the send lists and on the candidate's timeline and
can be cancelled or sent at once until the dispatcher takes it. Its once key names the result
record, so one record never gets two notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from candidates.models import Stage
from hrmos.models import Company, User
from messaging.models import Kind, Send
from messaging.placeholders import Placeholder, Recipient
from messaging.sending import automatic, scheduling
from messaging.sending.automatic import AutomaticKind
from results.models import NoticeSetting, Outcome, SelectionResult

KIND = Kind.SELECTION_RESULT
RESULT = "selection_result"  # the send's context key naming the result record
TOKYO = ZoneInfo("Asia/Tokyo")
# A notice due within this margin goes at once: compose refuses a reservation in the past.
IMMEDIATE_MARGIN = timedelta(minutes=1)

DEFAULT_SUBJECT = "【{{企業名}}】{{選考ステップ}}の選考結果のご連絡"
DEFAULT_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当です。
先日は{{選考ステップ}}にご参加いただき、誠にありがとうございました。

{{選考ステップ}}の選考結果は「{{選考結果}}」となりましたので、ご連絡いたします。
今後のご案内は、あらためてお送りいたします。

ご不明な点がございましたら、採用担当までお問い合わせください。
"""

AUTOMATIC_KIND = AutomaticKind(
    KIND,
    default_subject=DEFAULT_SUBJECT,
    default_body=DEFAULT_BODY,
    trigger="選考結果の登録時（選考ステップと結果ごとに、すぐに、または日数をおいて指定の時刻に）",
    placeholders=("選考ステップ", "選考結果"),
    can_disable=True,
    settings_url_name="results:settings",
)


def _result_of(recipient: Recipient) -> SelectionResult | None:
    result = recipient.scope.related(SelectionResult, RESULT)
    if result is None or result.candidate_id != recipient.candidate_id:
        return None
    return result


def outcome_value(recipient: Recipient) -> str | None:
    result = _result_of(recipient)
    return result.get_outcome_display() if result else None


def stage_value(recipient: Recipient) -> str | None:
    """The result's stage in a result notice (the candidate may have moved on since), else
    the candidate's current stage."""
    if RESULT in recipient.scope.context:
        result = _result_of(recipient)
        return result.stage.name if result else None  # the send's scope keeps the result, stage loaded once
    candidate = recipient.candidate
    return candidate.stage.name if candidate else None


# {{選考ステップ}} is also registered by the interviews app (after this one): its value serves
# sends about an interview and gives None elsewhere, where this one answers.
PLACEHOLDERS = (
    Placeholder(
        "選考結果",
        "選考結果（合格・不合格・保留）",
        needs=RESULT,
        needs_label="選考結果",
        value=outcome_value,
        unavailable="{{選考結果}} は選考結果の自動通知でのみ使えます。",
        order=70,
    ),
    Placeholder(
        "選考ステップ",
        "選考ステップ（選考結果の通知では結果を登録したステップ）",
        value=stage_value,
        order=71,
    ),
)


@dataclass(frozen=True)
class Notice:
    """What one stage and result sends: on/off, when, and the text (the company's own or the
    自動送信メール設定 template)."""

    switched_on: bool  # this stage and result's own switch
    kind_enabled: bool  # the kind's switch on the 自動送信メール設定 page
    timing: str
    delay_days: int
    hour: int
    subject: str
    body: str
    custom_text: bool

    @property
    def enabled(self) -> bool:
        return self.switched_on and self.kind_enabled

    @property
    def timing_label(self) -> str:
        if not self.enabled:
            return "送信しない"
        if self.timing == NoticeSetting.Timing.IMMEDIATE:
            return "すぐに送信"
        return f"{self.delay_days}日後 {self.hour}:00" if self.delay_days else f"当日 {self.hour}:00"


def notice_for(company: Company, stage: Stage, outcome: str, setting: NoticeSetting | None = None) -> Notice:
    """The stage and result's notice; off when the company has not set it up or has turned the
    kind off on the 自動送信メール設定 page."""
    template = automatic.template_for(company, KIND)
    if setting is None:
        setting = NoticeSetting.objects.filter(company=company, stage=stage, outcome=outcome).first()
    if setting is None:
        return Notice(
            False, template.enabled, NoticeSetting.Timing.IMMEDIATE, 1, automatic.DEFAULT_HOUR, *_text(template), False
        )
    custom = bool(setting.subject.strip() or setting.body.strip())
    return Notice(
        switched_on=setting.enabled,
        kind_enabled=template.enabled,
        timing=setting.timing,
        delay_days=setting.delay_days,
        hour=setting.hour,
        subject=setting.subject.strip() or template.subject,
        body=setting.body if setting.body.strip() else template.body,
        custom_text=custom,
    )


def _text(template: automatic.Template) -> tuple[str, str]:
    return template.subject, template.body


def send_time(notice: Notice, recorded_at: datetime) -> datetime | None:
    """When a notice of a result recorded at `recorded_at` goes, Japan time; None: at once
    (immediate, or a same-day hour that has passed)."""
    if notice.timing == NoticeSetting.Timing.IMMEDIATE:
        return None
    day = recorded_at.astimezone(TOKYO).date() + timedelta(days=notice.delay_days)
    at = datetime.combine(day, time(notice.hour), tzinfo=TOKYO)
    return at if at > recorded_at + IMMEDIATE_MARGIN else None


def once_key(result: SelectionResult) -> str:
    return f"selection_result:{result.pk}"


def schedule_notice(result: SelectionResult, notice: Notice) -> Send | None:
    """Write the result's notice (in the caller's transaction); None when it is off or this
    record had one already."""
    if not notice.enabled:
        return None
    return automatic.send_automatic(
        KIND,
        company=result.company,
        candidate=result.candidate,
        subject=notice.subject,
        body=notice.body,
        context={RESULT: result.pk},
        once_key=once_key(result),
        scheduled_at=send_time(notice, result.recorded_at),
    )


def is_pending(send: Send | None) -> bool:
    return send is not None and send.status == Send.Status.SCHEDULED


def cancel_notice(send: Send | None, *, user: User | None, now: datetime) -> bool:
    """Cancel a notice that has not gone yet; False when there is none pending."""
    if send is None:
        return False
    return scheduling.cancel_scheduled_send(send, user=user, now=now)


OUTCOME_LABELS = dict(Outcome.choices)
