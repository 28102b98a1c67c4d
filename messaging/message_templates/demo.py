"""The demo company's message templates: the messages every new-graduate recruiter sends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hrmos.models import Company
from messaging.models import MessageTemplate

Category = MessageTemplate.Category

SIGNATURE = "{{企業名}} 採用担当\n{{送信者名}}"

DEMO_TEMPLATES: list[tuple[str, str, str, str]] = [
    (
        "一次面接のご案内",
        Category.INTERVIEW,
        "【{{企業名}}】一次面接のご案内",
        "{{候補者氏名}} 様\n\n"
        "お世話になっております。{{企業名}} 採用担当の{{送信者名}}です。\n"
        "このたびは弊社の選考にご応募いただき、誠にありがとうございます。\n\n"
        "書類選考の結果、ぜひ一次面接にお進みいただきたく、ご連絡いたしました。\n"
        "面接はオンライン（所要時間：約45分）で実施いたします。\n\n"
        "ご都合のよい日時を、このメールへの返信でお知らせください。\n"
        "日程が合わない場合も、お気軽にご相談ください。\n\n"
        "当日お会いできることを、社員一同楽しみにしております。\n\n" + SIGNATURE,
    ),
    (
        "説明会のご案内",
        Category.SEMINAR,
        "【{{企業名}}】会社説明会のご案内",
        "{{候補者氏名}} 様\n\n"
        "{{企業名}} 採用担当の{{送信者名}}です。\n"
        "弊社にご興味をお持ちいただき、ありがとうございます。\n\n"
        "このたび、新卒採用の会社説明会を開催いたします。\n"
        "事業内容や働き方、選考の流れについて、若手社員も交えてご紹介します。\n"
        "服装は自由です。ご参加を心よりお待ちしております。\n\n" + SIGNATURE,
    ),
    (
        "合格のご連絡",
        Category.RESULT,
        "【{{企業名}}】選考結果のご連絡",
        "{{候補者氏名}} 様\n\n"
        "{{企業名}} 採用担当の{{送信者名}}です。\n"
        "先日はお忙しいところ、選考にお越しいただきありがとうございました。\n\n"
        "慎重に選考を進めました結果、{{姓}}様には次の選考にお進みいただくことになりました。\n"
        "次回の選考の詳細は、あらためてご連絡いたします。\n\n"
        "引き続きどうぞよろしくお願いいたします。\n\n" + SIGNATURE,
    ),
    (
        "不合格のご連絡",
        Category.RESULT,
        "【{{企業名}}】選考結果のご連絡",
        "{{候補者氏名}} 様\n\n"
        "{{企業名}} 採用担当の{{送信者名}}です。\n"
        "先日はお忙しいところ、選考にご参加いただき誠にありがとうございました。\n\n"
        "慎重に検討を重ねました結果、誠に残念ながら、今回はご期待に沿えない結果となりました。\n"
        "ご応募いただきましたことに、あらためて感謝申し上げます。\n\n"
        "{{姓}}様の今後のご活躍を心よりお祈り申し上げます。\n\n" + SIGNATURE,
    ),
]


def seed_demo_templates(sender: object, *, company: Company, now: datetime, **kwargs: Any) -> None:
    """Receiver of `candidates.signals.demo_seeded`: the templates the demo company lacks (by
    name), so a second run changes nothing and keeps what the demo user edited."""
    for name, category, subject, body in DEMO_TEMPLATES:
        MessageTemplate.objects.get_or_create(
            company=company, name=name, defaults={"category": category, "subject": subject, "body": body}
        )
