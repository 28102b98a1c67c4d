"""`python manage.py seed_demo`: a demo company, a recruiter login and ~50 candidates.

Idempotent: the company is found by name (so its public_id, which appears in LINE URLs, is
created once), the login is created once, each agent only if its name is not there yet, and
the candidates only on the first run (an audit event marks it), so candidates the recruiter
deleted stay deleted. Running it again changes nothing and prints the same login, whatever
the recruiter did to the data meanwhile.
The data is generated from a fixed seed, so every run wants the same rows.
"""

import random
from datetime import timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from candidates.models import Agent, Candidate, Stage, ensure_default_stages
from candidates.signals import demo_seeded
from hrmos.audit import log_action
from hrmos.models import AuditEvent, Company, User

COMPANY_NAME = "株式会社デモ商事"
USERNAME = "demo"
PASSWORD = "demo-pass-2027"  # noqa: S105 (a local demo login, printed on purpose)
CANDIDATE_COUNT = 50
SEEDED_ACTION = "demo.seeded"  # in the audit trail: the demo candidates were created once

# (surname, kana, romaji)
SURNAMES = [
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"),
    ("伊藤", "イトウ", "ito"),
    ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"),
    ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"),
    ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"),
    ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"),
    ("木村", "キムラ", "kimura"),
    ("清水", "シミズ", "shimizu"),
    ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"),
    ("石川", "イシカワ", "ishikawa"),
    ("前田", "マエダ", "maeda"),
    ("藤田", "フジタ", "fujita"),
    ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"),
]
# (given name, kana, romaji)
GIVEN_NAMES = [
    ("陽翔", "ハルト", "haruto"),
    ("蓮", "レン", "ren"),
    ("湊", "ミナト", "minato"),
    ("大翔", "ヒロト", "hiroto"),
    ("悠真", "ユウマ", "yuma"),
    ("颯太", "ソウタ", "sota"),
    ("樹", "イツキ", "itsuki"),
    ("健太", "ケンタ", "kenta"),
    ("翔太", "ショウタ", "shota"),
    ("拓海", "タクミ", "takumi"),
    ("陽菜", "ヒナ", "hina"),
    ("結衣", "ユイ", "yui"),
    ("美咲", "ミサキ", "misaki"),
    ("さくら", "サクラ", "sakura"),
    ("葵", "アオイ", "aoi"),
    ("花子", "ハナコ", "hanako"),
    ("凛", "リン", "rin"),
    ("七海", "ナナミ", "nanami"),
    ("真央", "マオ", "mao"),
    ("彩花", "アヤカ", "ayaka"),
]
UNIVERSITIES = [
    ("東京大学", ["経済学部", "法学部", "工学部 システム創成学科", "文学部"]),
    ("京都大学", ["経済学部", "工学部 情報学科", "農学部"]),
    ("大阪大学", ["人間科学部", "基礎工学部", "経済学部"]),
    ("早稲田大学", ["政治経済学部", "商学部", "基幹理工学部", "文化構想学部"]),
    ("慶應義塾大学", ["経済学部", "商学部", "理工学部", "総合政策学部"]),
    ("一橋大学", ["商学部", "経済学部", "社会学部"]),
    ("東北大学", ["工学部", "経済学部", "理学部"]),
    ("名古屋大学", ["情報学部", "経済学部", "工学部"]),
    ("九州大学", ["経済学部", "工学部", "共創学部"]),
    ("北海道大学", ["経済学部", "農学部", "工学部"]),
    ("明治大学", ["商学部", "情報コミュニケーション学部", "理工学部"]),
    ("立教大学", ["経営学部", "社会学部", "異文化コミュニケーション学部"]),
    ("同志社大学", ["商学部", "文化情報学部", "経済学部"]),
    ("関西学院大学", ["商学部", "総合政策学部", "経済学部"]),
    ("筑波大学", ["情報学群", "社会・国際学群", "理工学群"]),
    ("神戸大学", ["経営学部", "国際人間科学部", "工学部"]),
]
DOMAINS = ["example.com", "example.net", "example.org"]
AGENCIES = [
    ("株式会社キャリアブリッジ", "佐野 瞳", "sano@careerbridge.example.com"),
    ("株式会社キャリアブリッジ", "西村 亮", "nishimura@careerbridge.example.com"),
    ("ネクストリクルート株式会社", "大野 真一", "ohno@nextrecruit.example.net"),
    ("株式会社シンソツ・パートナーズ", "川口 由美", "kawaguchi@shinsotsu-partners.example.org"),
]
MEMOS = [
    "会社説明会で積極的に質問していた。海外営業に関心あり。",
    "一次面接の評価：論理的で受け答えが明確。次回は現場社員との面談を調整。",
    "第一志望は別業界とのこと。志望度を次回確認する。",
    "長期インターン経験あり（Webマーケティング、1年）。",
    "面接日程の再調整を希望。平日午後が都合よい。",
    "内定者懇親会の案内を送付済み。",
]
# Weights: most candidates are early in the process, a few have offers or dropped out.
STAGE_WEIGHTS = {
    "エントリー": 12,
    "書類選考": 9,
    "一次面接": 8,
    "二次面接": 6,
    "最終面接": 4,
    "内定": 4,
    "不採用": 4,
    "辞退": 3,
}
YEAR_WEIGHTS = {2026: 1, 2027: 5, 2028: 3}
# The LINE emulator's demo personas (line_emulator/seed.py), as candidates with the same names
# and emails, so the demo's invitation emails go to the people one can then play on the phone.
# (surname, kana, given name, kana, email, university, faculty)
LINE_PERSONAS = [
    ("山田", "ヤマダ", "花子", "ハナコ", "hanako.yamada@example.com", "立教大学", "異文化コミュニケーション学部"),
    ("佐藤", "サトウ", "健太", "ケンタ", "kenta.sato@example.com", "東北大学", "工学部"),
    ("鈴木", "スズキ", "美咲", "ミサキ", "misaki.suzuki@example.com", "明治大学", "商学部"),
    ("高橋", "タカハシ", "翔", "ショウ", "sho.takahashi@example.com", "九州大学", "経済学部"),
]


class DemoPerson(TypedDict):
    last_name: str
    first_name: str
    last_name_kana: str
    first_name_kana: str
    email: str
    phone: str
    university: str
    faculty: str
    graduation_year: int
    stage: str
    agent: tuple[str, str, str] | None  # one of AGENCIES
    memo: str
    days_ago: int


def demo_candidates(rng: random.Random) -> list[DemoPerson]:
    """The same ~50 people on every run: the LINE personas first (the newest registrations),
    then generated ones from a fixed seed; unique names and emails."""
    people: list[DemoPerson] = [
        {
            "last_name": surname,
            "first_name": given,
            "last_name_kana": surname_kana,
            "first_name_kana": given_kana,
            "email": email,
            "phone": f"090-1234-{5678 + index}",
            "university": university,
            "faculty": faculty,
            "graduation_year": 2027,
            "stage": "エントリー",
            "agent": None,
            "memo": "",
            "days_ago": index,
        }
        for index, (surname, surname_kana, given, given_kana, email, university, faculty) in enumerate(LINE_PERSONAS)
    ]
    seen = {(person["last_name"], person["first_name"]) for person in people}
    while len(people) < CANDIDATE_COUNT:
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
        if (surname[0], given[0]) in seen:
            continue
        seen.add((surname[0], given[0]))
        index = len(people)
        university, faculties = rng.choice(UNIVERSITIES)
        people.append(
            {
                "last_name": surname[0],
                "first_name": given[0],
                "last_name_kana": surname[1],
                "first_name_kana": given[1],
                "email": f"{given[2]}.{surname[2]}@{DOMAINS[index % len(DOMAINS)]}",
                "phone": f"0{rng.choice([70, 80, 90])}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                "university": university,
                "faculty": rng.choice(faculties),
                "graduation_year": rng.choices(list(YEAR_WEIGHTS), weights=list(YEAR_WEIGHTS.values()))[0],
                "stage": rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()))[0],
                "agent": AGENCIES[index % len(AGENCIES)] if index % 6 == 2 else None,
                "memo": MEMOS[index % len(MEMOS)] if index % 7 == 3 else "",
                "days_ago": (CANDIDATE_COUNT - index) * 2 + rng.randint(0, 1),
            }
        )
    return people


class Command(BaseCommand):
    help = "デモ用の企業・採用担当者ログイン・候補者約50名を作成します（何度実行しても同じ状態になります）。"

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        company = Company.objects.filter(name=COMPANY_NAME).order_by("pk").first()
        if company is None:
            company = Company.objects.create(name=COMPANY_NAME)
        ensure_default_stages(company)
        user = self._ensure_login(company)
        created = self._ensure_candidates(company)
        # The floors above (events, forms…) add their own demo rows; this floor cannot import them.
        demo_seeded.send(sender=self.__class__, company=company, now=timezone.now())

        total = Candidate.objects.for_company(company).count()
        self.stdout.write(
            f"デモデータ: {company.name}（企業ID {company.public_id}）、候補者 {total}名"
            + (f"（今回 {created}名を追加）" if created else "（変更なし）")
        )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("  ログイン情報"))
        self.stdout.write(f"    URL:        {settings.SITE_URL}/")
        self.stdout.write(f"    ユーザー名: {user.username}")
        self.stdout.write(f"    パスワード: {PASSWORD}")
        self.stdout.write("")

    def _ensure_login(self, company: Company) -> User:
        user = User.objects.filter(username=USERNAME).first()
        if user is None:
            return User.objects.create_user(
                username=USERNAME,
                password=PASSWORD,
                company=company,
                last_name="人事",
                first_name="太郎",
                email="demo@example.com",
            )
        if user.company_id != company.pk:
            raise CommandError(f"ユーザー「{USERNAME}」は別の企業に所属しています。")
        # Reset only when it no longer matches, so the printed login always works.
        if not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _ensure_candidates(self, company: Company) -> int:
        stages = {stage.name: stage for stage in Stage.objects.for_company(company)}
        fallback_stage = min(stages.values(), key=lambda stage: stage.position)
        agents: dict[tuple[str, str], Agent] = {}
        for agency, contact, email in AGENCIES:
            # The recruiter may have added the same agent again (by hand or by CSV): take the oldest.
            same = Agent.objects.for_company(company).filter(agency_name=agency, contact_name=contact)
            agents[(agency, contact)] = same.order_by("pk").first() or Agent.objects.create(
                company=company, agency_name=agency, contact_name=contact, contact_email=email
            )
        if AuditEvent.objects.filter(company=company, action=SEEDED_ACTION).exists():
            return 0  # seeded before: candidates missing now were deleted by the recruiter
        existing = set(Candidate.objects.for_company(company).values_list("email", flat=True))
        now = timezone.now()
        created = 0
        rng = random.Random(2027)  # noqa: S311 (a fixed seed: the same demo rows on every run)
        for person in demo_candidates(rng):
            if person["email"] in existing:
                continue
            agent = person["agent"]
            candidate = Candidate.objects.create(
                company=company,
                last_name=person["last_name"],
                first_name=person["first_name"],
                last_name_kana=person["last_name_kana"],
                first_name_kana=person["first_name_kana"],
                email=person["email"],
                phone=person["phone"],
                university=person["university"],
                faculty=person["faculty"],
                graduation_year=person["graduation_year"],
                stage=stages.get(person["stage"], fallback_stage),
                agent=agents[(agent[0], agent[1])] if agent else None,
                memo=person["memo"],
            )
            # Spread registrations over the last months so the list looks lived-in.
            registered = now - timedelta(days=person["days_ago"], hours=person["days_ago"] % 9)
            Candidate.objects.filter(pk=candidate.pk).update(created_at=registered, updated_at=registered)
            created += 1
        log_action(company, None, SEEDED_ACTION, f"デモ用の候補者を{created}名登録しました")
        return created
