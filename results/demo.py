"""Demo rows for `manage.py seed_demo` (received through candidates.signals.demo_seeded): the
result-notice timing of every open stage (不合格: 3 days later at 10:00, 合格: at once, with
the text of the demo's 合格のご連絡 / 不合格のご連絡 templates) and a few recorded results.

Idempotent: settings are created only where the company has none, results only once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from candidates.models import Candidate
from hrmos.models import Company, User
from messaging.models import MessageTemplate
from results import actions
from results.models import NoticeSetting, Outcome, SelectionResult

Timing = NoticeSetting.Timing

# (outcome, timing, days later, hour, the demo message template whose text it uses)
DEMO_TIMINGS = [
    (Outcome.PASSED, Timing.IMMEDIATE, 1, 10, "合格のご連絡"),
    (Outcome.FAILED, Timing.DELAYED, 3, 10, "不合格のご連絡"),
]
# An automatic email has no recruiter writing it: the demo templates' sender lines become the
# company's hiring team.
SENDER_LINES = {"採用担当の{{送信者名}}です。": "採用担当です。", "採用担当\n{{送信者名}}": "採用担当"}
# (stage the candidate is at, result, note), for the earliest-registered candidates there.
DEMO_RESULTS = [
    ("書類選考", Outcome.PASSED, "志望動機が具体的で、自社の事業理解も深い。"),
    ("一次面接", Outcome.FAILED, "コミュニケーションは良好だが、志望度に課題。"),
    ("二次面接", Outcome.ON_HOLD, "他候補者との比較のため、判断を保留。"),
]


def _without_sender(text: str) -> str:
    for old, new in SENDER_LINES.items():
        text = text.replace(old, new)
    return text


def seed_notice_settings(company: Company) -> None:
    for outcome, timing, days, hour, template_name in DEMO_TIMINGS:
        template = MessageTemplate.objects.filter(company=company, name=template_name).first()
        subject = template.subject if template else ""
        body = _without_sender(template.body) if template else ""
        for stage in actions.recordable_stages(company):
            NoticeSetting.objects.get_or_create(
                company=company,
                stage=stage,
                outcome=outcome,
                defaults={
                    "enabled": True,
                    "timing": timing,
                    "delay_days": days,
                    "hour": hour,
                    "subject": subject,
                    "body": body,
                },
            )


def seed_results(company: Company, now: datetime) -> None:
    if SelectionResult.objects.filter(company=company).exists():
        return
    user = User.objects.filter(company=company).order_by("pk").first()
    for index, (stage_name, outcome, note) in enumerate(DEMO_RESULTS):
        candidate = (
            Candidate.objects.for_company(company)
            .filter(stage__name=stage_name, selection_results__isnull=True)
            .select_related("stage")
            .order_by("created_at", "pk")
            .first()
        )
        if candidate is not None:
            when = now - timedelta(minutes=len(DEMO_RESULTS) - index)
            actions.record_result(candidate, candidate.stage, outcome, note=note, user=user, now=when)


@transaction.atomic
def on_demo_seeded(sender: object, *, company: Company, now: datetime, **kwargs: object) -> None:
    seed_notice_settings(company)
    seed_results(company, now)
