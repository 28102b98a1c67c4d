"""Files in form answers: the type is judged from the content, never the name; size limits;
safe stored names."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from customforms import uploads
from customforms.models import FormAnswer, FormResponse
from tests.customforms_support import PDF, PNG, answer_path, make_form, name_of

pytestmark = pytest.mark.django_db


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


def test_a_png_renamed_pdf_is_refused_where_only_pdf_is_allowed():
    with pytest.raises(ValidationError) as refused:
        uploads.check_upload(upload("履歴書.pdf", PNG), ["pdf"], 5)
    assert "このファイルの形式は受け付けていません。PDFのファイルを選択してください。" in refused.value.messages[0]


def test_a_png_renamed_pdf_is_kept_as_a_png_where_images_are_allowed():
    checked = uploads.check_upload(upload("証明写真.pdf", PNG), ["pdf", "image"], 5)
    assert (checked.name, checked.content_type) == ("証明写真.png", "image/png")


def test_a_real_pdf_passes_whatever_the_browser_claims():
    checked = uploads.check_upload(upload("resume", PDF, content_type="text/html"), ["pdf"], 5)
    assert (checked.name, checked.content_type, checked.size) == ("resume.pdf", "application/pdf", len(PDF))


def test_a_word_file_is_recognised_by_its_content():
    checked = uploads.check_upload(upload("es.bin", docx()), ["word"], 5)
    assert checked.name == "es.docx"


def test_text_pretending_to_be_a_pdf_is_refused():
    with pytest.raises(ValidationError):
        uploads.check_upload(upload("a.pdf", b"<script>alert(1)</script>"), ["pdf", "image", "word", "excel"], 5)


def test_a_file_over_the_limit_is_refused_with_its_size():
    with pytest.raises(ValidationError) as refused:
        uploads.check_upload(upload("big.pdf", PDF + b"\0" * (1024 * 1024)), ["pdf"], 1)
    assert refused.value.messages == ["ファイルが大きすぎます（1.0MB）。1MB以下のファイルを選択してください。"]


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationError, match="ファイルが空です"):
        uploads.check_upload(upload("empty.pdf", b""), ["pdf"], 1)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\hanako\\履歴書.pdf", "履歴書.pdf"),
        ('a<b>:"c|d?*\x00\x1f.pdf', "abcd.pdf"),
        ("", "file.pdf"),
        ("...", "file.pdf"),
        ("x" * 300 + ".pdf", "x" * uploads.NAME_MAX + ".pdf"),
    ],
)
def test_stored_names_have_no_path_or_control_characters(given, stored):
    assert uploads.safe_name(given, "pdf") == stored


def test_the_answer_page_refuses_a_png_renamed_pdf_and_keeps_the_rest(client, company, candidate):
    form = make_form(company)
    data = {
        name_of(form, "志望動機"): "志望動機です",
        name_of(form, "説明会の満足度"): "満足",
        name_of(form, "履歴書"): upload("履歴書.pdf", PNG),
    }
    response = client.post(answer_path(candidate, form), data)
    text = response.content.decode()
    assert "このファイルの形式は受け付けていません。PDFのファイルを選択してください。" in text
    assert "志望動機です" in text and "ファイルは、お手数ですがもう一度選択してください" in text
    assert not FormResponse.objects.exists() and not FormAnswer.objects.exists()


def test_the_answer_page_refuses_a_file_over_the_fields_limit(client, company, candidate):
    form = make_form(company)  # the 履歴書 field allows 1MB
    data = {
        name_of(form, "志望動機"): "志望動機です",
        name_of(form, "説明会の満足度"): "満足",
        name_of(form, "履歴書"): upload("big.pdf", PDF + b" " * (2 * 1024 * 1024)),
    }
    assert "1MB以下のファイルを選択してください" in client.post(answer_path(candidate, form), data).content.decode()
    assert not FormResponse.objects.exists()
