"""CSV import and export of candidates.

Import is upload → preview → confirm, all or nothing. The file is decoded once (UTF-8 with or
without BOM, else CP932, which is what Japanese Excel writes), its rows are kept in an
ImportBatch, and `validate()` interprets them with the column mapping the recruiter can
adjust. Nothing is written until every row is valid. Export writes the same columns, so an
exported file imports into another company unchanged.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from candidates.models import Agent, Candidate, Stage, graduation_year_bounds
from candidates.search import to_katakana
from hrmos.models import Company

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
BOM = "\ufeff"
DUPLICATE_EMAIL_MESSAGE = "このメールアドレスの候補者はすでに登録されています。"


class CsvFileError(Exception):
    """The file as a whole cannot be read; the message is shown to the recruiter."""


@dataclass(frozen=True)
class TargetField:
    key: str
    label: str
    aliases: tuple[str, ...]
    max_length: int | None = None


TARGETS: tuple[TargetField, ...] = (
    TargetField("full_name", "氏名（姓 名）", ("氏名", "名前", "お名前", "フルネーム", "name", "full name")),
    TargetField("last_name", "姓", ("姓", "苗字", "名字", "last name", "family name", "surname"), 50),
    TargetField("first_name", "名", ("名", "first name", "given name"), 50),
    TargetField(
        "full_kana",
        "フリガナ（セイ メイ）",
        ("フリガナ", "ふりがな", "カナ", "氏名カナ", "氏名(カナ)", "氏名(フリガナ)", "シメイ", "kana", "furigana"),
    ),
    TargetField("last_name_kana", "セイ", ("セイ", "姓カナ", "姓(カナ)", "姓(フリガナ)", "last name kana"), 50),
    TargetField("first_name_kana", "メイ", ("メイ", "名カナ", "名(カナ)", "名(フリガナ)", "first name kana"), 50),
    TargetField(
        "email", "メールアドレス", ("メールアドレス", "メール", "eメール", "email", "mail", "email address"), 254
    ),
    TargetField("phone", "電話番号", ("電話番号", "電話", "携帯電話", "携帯電話番号", "tel", "phone", "mobile"), 20),
    TargetField("university", "大学", ("大学", "大学名", "学校", "学校名", "university", "school"), 100),
    TargetField("faculty", "学部・学科", ("学部・学科", "学部", "学科", "学部学科", "faculty", "department"), 100),
    TargetField(
        "graduation_year", "卒業年度", ("卒業年度", "卒業年", "卒業予定年", "卒業予定年度", "卒年", "graduation year")
    ),
    TargetField("stage", "選考ステップ", ("選考ステップ", "ステップ", "選考状況", "選考ステータス", "stage")),
    TargetField(
        "agent_agency",
        "エージェント会社名",
        ("エージェント会社名", "エージェント", "エージェント名", "紹介会社", "agency"),
        200,
    ),
    TargetField(
        "agent_contact", "エージェント担当者名", ("担当者名", "エージェント担当者", "エージェント担当者名"), 100
    ),
    TargetField(
        "agent_email",
        "エージェント担当者メールアドレス",
        ("担当者メールアドレス", "担当者メール", "エージェント担当者メールアドレス", "agent email"),
        254,
    ),
    TargetField("memo", "メモ", ("メモ", "備考", "コメント", "memo", "note", "notes")),
)
TARGETS_BY_KEY = {target.key: target for target in TARGETS}

# Export columns, in the order the template and the export use; each header is an alias above.
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("姓", "last_name"),
    ("名", "first_name"),
    ("セイ", "last_name_kana"),
    ("メイ", "first_name_kana"),
    ("メールアドレス", "email"),
    ("電話番号", "phone"),
    ("大学", "university"),
    ("学部・学科", "faculty"),
    ("卒業年度", "graduation_year"),
    ("選考ステップ", "stage"),
    ("エージェント会社名", "agent_agency"),
    ("担当者名", "agent_contact"),
    ("担当者メールアドレス", "agent_email"),
    ("メモ", "memo"),
)
EXPORT_EXTRA_HEADERS = ("登録日時",)  # not imported: the importing company registers anew


# ---------------------------------------------------------------------------- reading a file


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name). UTF-8 first: CP932 would 'decode' many UTF-8 files into mojibake."""
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "Shift_JIS (CP932)"
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            "ファイルの文字コードを判別できませんでした。"
            "UTF-8 または Shift_JIS（Excelの「CSV」形式）で保存してください。"
        ) from exc


def read_rows(data: bytes) -> tuple[str, list[str], list[list[str]]]:
    """(encoding, header, data rows); blank rows are dropped, short rows padded."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise CsvFileError(f"ファイルが大きすぎます（{MAX_UPLOAD_BYTES // (1024 * 1024)}MBまで）。分割してください。")
    text, encoding = decode(data)
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CsvFileError(f"CSVとして読み取れませんでした（{exc}）。") from exc
    records = [row for row in records if any(cell.strip() for cell in row)]
    if not records:
        raise CsvFileError("ファイルにデータがありません。1行目に見出し、2行目から候補者を入れてください。")
    header = [cell.strip() for cell in records[0]]
    rows = records[1:]
    if not rows:
        raise CsvFileError("見出し行だけで、候補者の行がありません。")
    if len(rows) > MAX_ROWS:
        raise CsvFileError(f"行数が多すぎます（{len(rows):,}行）。{MAX_ROWS:,}行までに分けてください。")
    width = len(header)
    rows = [(row + [""] * width)[:width] for row in rows]
    return encoding, header, rows


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s_\-・*※:：\[\]]", "", text)


_ALIASES = {_header_key(alias): target.key for target in TARGETS for alias in (target.label, *target.aliases)}


def guess_mapping(header: list[str]) -> list[str]:
    """A target key per column ("" = not imported). The first column claiming a target wins."""
    mapping, used = [], set()
    for title in header:
        key = _ALIASES.get(_header_key(title), "")
        if key in used:
            key = ""
        used.add(key)
        mapping.append(key)
    return mapping


def mapping_errors(mapping: list[str]) -> list[str]:
    errors = []
    chosen = [key for key in mapping if key]
    for key in sorted(set(chosen), key=chosen.index):
        if chosen.count(key) > 1:
            errors.append(f"「{TARGETS_BY_KEY[key].label}」が複数の列に割り当てられています。1つにしてください。")
    if "full_name" not in chosen and "last_name" not in chosen:
        errors.append("氏名の列が選ばれていません。「氏名（姓 名）」または「姓」を割り当ててください。")
    return errors


# ---------------------------------------------------------------------------- interpreting rows


@dataclass
class RowResult:
    line: int  # the line number in the file as Excel shows it (the header is line 1)
    values: dict[str, str]  # target key → cleaned text, for the preview
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    graduation_year: int | None = None
    stage: Stage | None = None
    agent_key: tuple[str, str, str] | None = None


@dataclass
class Validation:
    rows: list[RowResult]
    file_errors: list[str]
    new_agents: dict[tuple[str, str, str], Agent]  # to create on import, by key
    existing_agents: dict[tuple[str, str, str], Agent]

    @property
    def error_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.errors]

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.error_rows


def _cell(text: str) -> str:
    # Our export prefixes formula-like cells with ' (see safe_cell); take it off again.
    text = text.strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def _split_name(text: str) -> tuple[str, str]:
    parts = unicodedata.normalize("NFKC", text).split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


_YEAR_PATTERNS = (
    re.compile(r"^(\d{4})(?:年度?)?(?:卒業?)?(?:予定)?$"),
    re.compile(r"^(\d{4})[/.\-]\d{1,2}(?:[/.\-]\d{1,2})?$"),  # a graduation date: 2028/03(/31)
)
_SHORT_YEAR = re.compile(r"^(\d{2})(?:年度?)?卒業?(?:予定)?$")  # 「28卒」


def parse_year(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern in _YEAR_PATTERNS:
        if match := pattern.match(text):
            return int(match.group(1))
    if match := _SHORT_YEAR.match(text):
        return 2000 + int(match.group(1))
    return None


_PHONE = re.compile(r"^[0-9+\-() ]+$")


def _agent_key(agency: str, contact: str, email: str) -> tuple[str, str, str]:
    return (unicodedata.normalize("NFKC", agency).strip(), contact.strip(), email.strip().lower())


def _email_error(email: str) -> str | None:
    try:
        validate_email(email)
    except ValidationError:
        return f"メールアドレス「{email}」の形式が正しくありません。"
    return None


def validate(company: Company, header: list[str], rows: list[list[str]], mapping: list[str]) -> Validation:
    """Interpret every row with the mapping and collect every problem; writes nothing."""
    stages = {unicodedata.normalize("NFKC", s.name).strip(): s for s in Stage.objects.for_company(company)}
    first_stage = min(stages.values(), key=lambda s: s.position) if stages else None
    existing_agents = {
        _agent_key(a.agency_name, a.contact_name, a.contact_email): a for a in Agent.objects.for_company(company)
    }
    columns = {key: index for index, key in enumerate(mapping) if key}
    low, high = graduation_year_bounds()

    def raw(row: list[str], key: str) -> str:
        return _cell(row[columns[key]]) if key in columns else ""

    emails = {raw(row, "email").lower() for row in rows} - {""}
    taken = set(Candidate.objects.for_company(company).filter(email__in=emails).values_list("email", flat=True))

    results: list[RowResult] = []
    first_line_of_email: dict[str, int] = {}
    new_agents: dict[tuple[str, str, str], Agent] = {}
    for index, row in enumerate(rows):
        result = RowResult(line=index + 2, values={})
        errors, values = result.errors, result.values

        last, first = raw(row, "last_name"), raw(row, "first_name")
        if not last and not first and raw(row, "full_name"):
            last, first = _split_name(raw(row, "full_name"))
            if not first:
                result.warnings.append("氏名にスペースがないため、すべて「姓」として登録します。")
        last_kana, first_kana = raw(row, "last_name_kana"), raw(row, "first_name_kana")
        if not last_kana and not first_kana and raw(row, "full_kana"):
            last_kana, first_kana = _split_name(raw(row, "full_kana"))
        values.update(
            last_name=last,
            first_name=first,
            last_name_kana=to_katakana(last_kana),
            first_name_kana=to_katakana(first_kana),
        )
        if not last:
            errors.append("氏名がありません。")

        email = raw(row, "email").lower()
        values["email"] = email
        if email:
            if message := _email_error(email):
                errors.append(message)
            elif email in first_line_of_email:
                errors.append(f"メールアドレスが{first_line_of_email[email]}行目と重複しています。")
            elif email in taken:
                errors.append(DUPLICATE_EMAIL_MESSAGE)
            first_line_of_email.setdefault(email, result.line)

        phone = unicodedata.normalize("NFKC", raw(row, "phone"))
        values["phone"] = phone
        if phone and not _PHONE.match(phone):
            errors.append(f"電話番号「{phone}」は数字とハイフンで入力してください。")

        values["university"] = raw(row, "university")
        values["faculty"] = raw(row, "faculty")
        values["memo"] = raw(row, "memo")

        year_text = raw(row, "graduation_year")
        values["graduation_year"] = year_text
        if year_text:
            year = parse_year(year_text)
            if year is None:
                errors.append(f"卒業年度「{year_text}」を読み取れません（例: 2028）。")
            elif not low <= year <= high:
                errors.append(f"卒業年度は{low}〜{high}の範囲で入力してください（{year}）。")
            else:
                result.graduation_year = year
                values["graduation_year"] = str(year)

        stage_name = unicodedata.normalize("NFKC", raw(row, "stage")).strip()
        result.stage = stages.get(stage_name) if stage_name else first_stage
        values["stage"] = result.stage.name if result.stage else stage_name
        if result.stage is None:
            errors.append(f"選考ステップ「{stage_name}」はありません（使えるもの: {'、'.join(stages)}）。")

        agency, contact, agent_email = raw(row, "agent_agency"), raw(row, "agent_contact"), raw(row, "agent_email")
        values.update(agent_agency=agency, agent_contact=contact, agent_email=agent_email.lower())
        if agency:
            if agent_email and (message := _email_error(agent_email)):
                errors.append("エージェント担当者の" + message)
            else:
                key = _agent_key(agency, contact, agent_email)
                result.agent_key = key
                if key not in existing_agents and key not in new_agents:
                    new_agents[key] = Agent(
                        company=company, agency_name=key[0], contact_name=key[1], contact_email=key[2]
                    )
        elif contact or agent_email:
            errors.append("エージェントの担当者があるのに、エージェント会社名がありません。")

        for field_key, text in values.items():
            limit = TARGETS_BY_KEY[field_key].max_length if field_key in TARGETS_BY_KEY else None
            if limit and len(text) > limit:
                errors.append(f"{TARGETS_BY_KEY[field_key].label}が長すぎます（{limit}文字まで）。")
        results.append(result)

    return Validation(
        rows=results, file_errors=mapping_errors(mapping), new_agents=new_agents, existing_agents=existing_agents
    )


def build_candidates(
    company: Company, validation: Validation, agents: dict[tuple[str, str, str], Agent]
) -> list[Candidate]:
    """Unsaved Candidates for a valid file, ready for bulk_create (prepare_for_save done)."""
    candidates = []
    for row in validation.rows:
        values = row.values
        candidate = Candidate(
            company=company,
            last_name=values["last_name"],
            first_name=values["first_name"],
            last_name_kana=values["last_name_kana"],
            first_name_kana=values["first_name_kana"],
            email=values["email"],
            phone=values["phone"],
            university=values["university"],
            faculty=values["faculty"],
            graduation_year=row.graduation_year,
            stage=row.stage,
            agent=agents[row.agent_key] if row.agent_key else None,
            memo=values["memo"],
        )
        candidate.prepare_for_save()
        candidates.append(candidate)
    return candidates


# ---------------------------------------------------------------------------- writing


class Echo:
    """csv.writer wants a file; this one hands each formatted line straight back."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> str:
    # A cell starting with = + - @ is a formula to Excel (CSV injection); a leading ' makes it
    # text. Import strips it again, so the round trip is exact.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_row(candidate: Candidate) -> list[str]:
    agent = candidate.agent
    values = {
        "last_name": candidate.last_name,
        "first_name": candidate.first_name,
        "last_name_kana": candidate.last_name_kana,
        "first_name_kana": candidate.first_name_kana,
        "email": candidate.email,
        "phone": candidate.phone,
        "university": candidate.university,
        "faculty": candidate.faculty,
        "graduation_year": candidate.graduation_year or "",
        "stage": candidate.stage.name,
        "agent_agency": agent.agency_name if agent else "",
        "agent_contact": agent.contact_name if agent else "",
        "agent_email": agent.contact_email if agent else "",
        "memo": candidate.memo,
    }
    created = timezone.localtime(candidate.created_at).strftime("%Y-%m-%d %H:%M")
    return [safe_cell(values[key]) for _, key in EXPORT_COLUMNS] + [created]


def export_lines(candidates: Iterable[Candidate]) -> Iterator[str]:
    """The CSV as lines: a BOM so Excel reads UTF-8, then the header, then one line per row."""
    writer = csv.writer(Echo())
    yield BOM + writer.writerow([title for title, _ in EXPORT_COLUMNS] + list(EXPORT_EXTRA_HEADERS))
    for candidate in candidates:
        yield writer.writerow(export_row(candidate))


def template_csv() -> str:
    writer = csv.writer(Echo())
    header = writer.writerow([title for title, _ in EXPORT_COLUMNS])
    example = writer.writerow(
        [
            "山田",
            "花子",
            "ヤマダ",
            "ハナコ",
            "hanako.yamada@example.com",
            "090-1234-5678",
            "東京大学",
            "経済学部",
            "2028",
            "エントリー",
            "",
            "",
            "",
            "説明会で質問あり",
        ]
    )
    return BOM + header + example
