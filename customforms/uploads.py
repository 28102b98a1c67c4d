"""Files candidates upload into a form: the type is judged from the content (`filetype` reads
the magic bytes), never from the name or the browser's Content-Type, and the stored name gets
the extension of what the file really is."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

import filetype
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

# What `filetype` needs to see: it reads at most this many leading bytes.
SIGNATURE_BYTES = 8192
SIZE_CHOICES_MB = (1, 2, 5, 10)
DEFAULT_SIZE_MB = 5
NAME_MAX = 120


@dataclass(frozen=True)
class FileType:
    label: str
    mimes: dict[str, str]  # detected MIME type → the extension files of that type are stored with

    @property
    def accept(self) -> str:
        """For `<input type=file accept=…>`: a hint for the phone's picker; the server decides."""
        extensions = {f".{ext}" for ext in self.mimes.values()} | set(self.mimes)
        return ",".join(sorted(extensions))


FILE_TYPES: dict[str, FileType] = {
    "pdf": FileType("PDF", {"application/pdf": "pdf"}),
    "image": FileType("画像（JPEG・PNG・HEIC）", {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic"}),
    "word": FileType(
        "Word",
        {
            "application/msword": "doc",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        },
    ),
    "excel": FileType(
        "Excel",
        {
            "application/vnd.ms-excel": "xls",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
        },
    ),
    "powerpoint": FileType(
        "PowerPoint",
        {
            "application/vnd.ms-powerpoint": "ppt",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
        },
    ),
}
FILE_TYPE_CHOICES = [(key, file_type.label) for key, file_type in FILE_TYPES.items()]


@dataclass(frozen=True)
class CheckedFile:
    name: str  # safe to store and to offer as a download name
    content_type: str  # as detected from the content
    size: int


def types_label(keys: list[str]) -> str:
    return "・".join(FILE_TYPES[key].label for key in keys if key in FILE_TYPES)


def accept_attribute(keys: list[str]) -> str:
    return ",".join(FILE_TYPES[key].accept for key in keys if key in FILE_TYPES)


def detect_mime(upload: UploadedFile) -> str | None:
    upload.seek(0)
    head = upload.read(SIGNATURE_BYTES)
    upload.seek(0)
    kind = filetype.guess(head)
    return kind.mime if kind is not None else None


def check_upload(upload: UploadedFile, allowed: list[str], max_mb: int) -> CheckedFile:
    """The upload as it may be stored, or a ValidationError saying why not (in Japanese)."""
    size = upload.size or 0
    if size == 0:
        raise ValidationError("ファイルが空です。内容のあるファイルを選択してください。", code="empty")
    if size > max_mb * 1024 * 1024:
        raise ValidationError(
            f"ファイルが大きすぎます（{size / (1024 * 1024):.1f}MB）。{max_mb}MB以下のファイルを選択してください。",
            code="too_large",
        )
    mime = detect_mime(upload)
    extension = next(
        (FILE_TYPES[key].mimes[mime] for key in allowed if key in FILE_TYPES and mime in FILE_TYPES[key].mimes), None
    )
    if mime is None or extension is None:
        raise ValidationError(
            f"このファイルの形式は受け付けていません。{types_label(allowed)}のファイルを選択してください。"
            "（ファイル名ではなく、ファイルの中身で形式を判定しています）",
            code="file_type",
        )
    return CheckedFile(name=safe_name(upload.name or "", extension), content_type=mime, size=size)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def safe_name(name: str, extension: str) -> str:
    """The candidate's file name without path parts or control characters, ending in the
    extension of the detected type (a PNG named 履歴書.pdf is stored as 履歴書.png)."""
    base = PurePath(unicodedata.normalize("NFC", name).replace("\\", "/")).name
    stem = PurePath(_UNSAFE.sub("", base)).stem.strip(" .")
    return f"{stem[:NAME_MAX] or 'file'}.{extension}"
