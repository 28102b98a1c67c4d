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
from hrmos.text import storable

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
# Our own export has 15 columns and ATS exports a few dozen; the preview shows one mapping row
# per column, so a file far wider than any real one is refused before anything is kept.
MAX_COLUMNS = 200
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


# Magic numbers of files people pick by mistake instead of the CSV (an Excel workbook is a zip).
BINARY_SIGNATURES = {
    b"PK\x03\x04": "Excelブック（.xlsx）などの圧縮ファイル",
    b"\xd0\xcf\x11\xe0": "Excelブック（.xls）",
    b"%PDF": "PDF",
    b"\x89PNG": "PNG画像",
    b"\xff\xd8\xff": "JPEG画像",
    b"GIF8": "GIF画像",
}
SAVE_AS_CSV = "Excelで開き、「名前を付けて保存」で「CSV UTF-8（コンマ区切り）」を選んで保存してください。"


def _refuse_binary(data: bytes) -> None:
    """A file that is not text at all says so, instead of 'decoding' into odd columns."""
    for signature, kind in BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise CsvFileError(f"CSVファイルではありません（{kind}のようです）。{SAVE_AS_CSV}")
    sample = data[:4096]
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in b"\t\r\n")
    if sample and controls > max(2, len(sample) // 100):
        raise CsvFileError(f"CSVファイルではありません（文字ではないデータが含まれています）。{SAVE_AS_CSV}")


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name). UTF-8 first: CP932 would 'decode' many UTF-8 files into mojibake.
    Text the database cannot hold (NUL) is taken out (hrmos.text)."""
    _refuse_binary(data)
    try:
        return storable(data.decode("utf-8-sig")), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return storable(data.decode("cp932")), "Shift_JIS (CP932)"
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            "ファイルの文字コードを判別できませんでした。"
            "UTF-8 または Shift_JIS（Excelの「CSV」形式）で保存してください。"
        ) from exc


CSV_PROBLEMS = {
    "unexpected end of data": '閉じられていない「"」（ダブルクォート）があります',
    "expected after": '「"」で囲んだ値のすぐ後に、区切りの「,」以外の文字があります',
}


def _records(text: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = []
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                raise CsvFileError(
                    f"{reader.line_num}行目の列が多すぎます（{len(row):,}列）。{MAX_COLUMNS}列までにしてください。"
                )
            records.append(row)
    except csv.Error as exc:
        problem = next((text for key, text in CSV_PROBLEMS.items() if key in str(exc)), str(exc))
        raise CsvFileError(
            f"CSVの形式が正しくありません（{reader.line_num}行目付近: {problem}）。"
            "Excelなどで開いて確認し、CSV形式で保存し直してください。"
        ) from exc
    return records


def read_rows(data: bytes) -> tuple[str, list[str], list[list[str]]]:
    """(encoding, header, data rows); blank rows are dropped, short rows padded."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise CsvFileError(f"ファイルが大きすぎます（{MAX_UPLOAD_BYTES // (1024 * 1024)}MBまで）。分割してください。")
    text, encoding = decode(data)
    records = [row for row in _records(text) if any(cell.strip() for cell in row)]
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


def _cell(text: str, *, from_export: bool) -> str:
    # Our export prefixes an apostrophe to cells it escapes (see safe_cell); only a file with
    # the export's own header had that done, so only there is it taken off, exactly.
    if from_export and text[:1] == "'" and text[1:2] in ESCAPED_STARTS:
        return text[1:]
    return text.strip()


def is_export(header: list[str]) -> bool:
    return header == [*(title for title, _ in EXPORT_COLUMNS), *EXPORT_EXTRA_HEADERS]


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
    def name(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).split())

    return (name(agency), name(contact), email.strip().lower())


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
    existing_agents: dict[tuple[str, str, str], Agent] = {}
    by_name: dict[tuple[str, str], tuple[str, str, str]] = {}  # (agency, contact) → the oldest agent's key
    for agent in Agent.objects.for_company(company).order_by("pk"):
        key = _agent_key(agent.agency_name, agent.contact_name, agent.contact_email)
        existing_agents.setdefault(key, agent)
        by_name.setdefault(key[:2], key)
    columns = {key: index for index, key in enumerate(mapping) if key}
    low, high = graduation_year_bounds()

    from_export = is_export(header)

    def raw(row: list[str], key: str) -> str:
        return _cell(row[columns[key]], from_export=from_export) if key in columns else ""

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
                if not key[2] and key not in existing_agents:
                    # No email in the file: the agent registered under that name is the one meant.
                    key = by_name.get(key[:2], key)
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


# A cell starting with = + - @ (or a tab or CR before one) is a formula to Excel (CSV
# injection); a leading apostrophe makes Excel read it as text. A value that itself starts
# with an apostrophe gets one too, so import can take exactly one off and the round trip is exact.
ESCAPED_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(ESCAPED_STARTS) else text


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
