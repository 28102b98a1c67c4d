"""Downloading what a candidate sent as an image, video, audio or file (GET /v2/bot/message/
{messageId}/content on the api-data host).

LINE keeps content for an undisclosed time and has no way to fetch it again later, so it is
downloaded right away, in a task of its own per message (`events.download_content`), streamed
to a temporary file. The content API answers:

- 200 → the file and its Content-Type → `DownloadedContent` (its file lives while the
  `downloaded()` block runs);
- 202 (a large video or audio still being prepared) → `NotReady`: try again later, with backoff;
- 410 (the candidate unsent it, or it expired) → `Unavailable(GONE)`: 「送信者により削除されました」;
- 404 → `Unavailable(NOT_FOUND)`;
- larger than `max_bytes()` (settings.LINE_CONTENT_MAX_BYTES, 50 MB) → `Unavailable(FAILED)`
  saying so: not stored, and the candidate is not asked again by us;
- 5xx, 429, timeouts, a download slower than the client's deadline → `NotReady` as well
  (transient); other 4xx → `Unavailable(FAILED)`.
"""

from __future__ import annotations

import mimetypes
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath

from django.conf import settings

from line_integration.api import client, tokens
from line_integration.api.client import LineError, LineErrorKind
from line_integration.models import LineIntegration
from line_integration.signals import DownloadedContent

GONE = "gone"
NOT_FOUND = "not_found"
FAILED = "failed"

# What the timeline says when there is no file to offer (also used by messaging's partials).
UNAVAILABLE_TEXT = {
    GONE: "送信者により削除されました",
    NOT_FOUND: "LINEにファイルが見つかりませんでした（保存期間を過ぎた可能性があります）",
    FAILED: "LINEからファイルを取得できませんでした",
}

DEFAULT_NAMES = {"image": "LINE画像", "video": "LINE動画", "audio": "LINE音声", "file": "LINEファイル"}
FALLBACK_TYPES = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/m4a", "file": "application/octet-stream"}
EXTENSIONS = {"image/jpeg": ".jpg", "audio/m4a": ".m4a", "audio/x-m4a": ".m4a", "audio/mp4": ".m4a"}


def max_bytes() -> int:
    return settings.LINE_CONTENT_MAX_BYTES


def too_large_text(limit: int) -> str:
    return f"ファイルが大きすぎるため取得しませんでした（上限 {limit // (1024 * 1024) or 1}MB）"


class NotReady(Exception):
    """Not downloadable yet (202) or LINE was unreachable: retry later."""


class Unavailable(Exception):
    """There is nothing to download, for good."""

    def __init__(self, status: str, reason: str = "") -> None:
        self.status = status
        self.reason = reason or UNAVAILABLE_TEXT[status]
        super().__init__(self.reason)


def file_name(message_type: str, line_message_id: str, content_type: str, given: str = "") -> str:
    """The stored name: the candidate's own file name for files, else e.g. `LINE画像_123.jpg`."""
    if given:
        return PurePath(given.replace("\\", "/")).name[:200] or f"{DEFAULT_NAMES['file']}_{line_message_id}"
    bare = content_type.split(";")[0].strip().lower()
    extension = EXTENSIONS.get(bare) or mimetypes.guess_extension(bare) or ""
    return f"{DEFAULT_NAMES.get(message_type, 'LINE')}_{line_message_id}{extension}"


@contextmanager
def downloaded(
    integration: LineIntegration, line_message_id: str, *, message_type: str, given_name: str = ""
) -> Iterator[DownloadedContent]:
    """The content of one message in a temporary file (deleted when the block ends), or
    NotReady / Unavailable."""
    limit = max_bytes()
    with tempfile.NamedTemporaryFile(prefix="line-content-", dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
        try:
            got = tokens.call_with_token(
                integration, client.download_message_content, line_message_id, spool, max_bytes=limit
            )
        except tokens.IntegrationNotLinked as exc:
            raise Unavailable(FAILED, "LINE連携が解除されているため取得できませんでした") from exc
        except LineError as exc:
            raise _translated(exc, limit) from exc
        spool.flush()
        content_type = got.content_type or FALLBACK_TYPES.get(message_type, "application/octet-stream")
        yield DownloadedContent(
            name=file_name(message_type, line_message_id, content_type, given_name),
            path=Path(spool.name),
            content_type=content_type,
            size=got.size,
        )


def _translated(exc: LineError, limit: int) -> Exception:
    if exc.kind == LineErrorKind.GONE:
        return Unavailable(GONE)
    if exc.kind == LineErrorKind.NOT_FOUND:
        return Unavailable(NOT_FOUND)
    if exc.kind == LineErrorKind.TOO_LARGE:
        return Unavailable(FAILED, too_large_text(limit))
    if exc.transient:  # 202 preparing, 5xx, rate limit, network, too slow
        return NotReady(str(exc))
    return Unavailable(FAILED, f"{UNAVAILABLE_TEXT[FAILED]}（{exc}）"[:300])
