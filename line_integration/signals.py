"""News from LINE that higher floors act on: a lower floor never imports a higher one, so news
goes up by signal (docs/architecture.md "Extension points").

line_integration sends these from its event processing (`events.py`); messaging receives them
(`messaging/receivers.py`) and writes the candidate's timeline. Receivers must be idempotent:
an event may be processed again after a crash or a retry, and each signal may repeat.

All are sent with `Signal.send`, not `send_robust`: a receiver that fails makes the event's
processing fail, so it is retried instead of silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from django.dispatch import Signal

from candidates.models import Candidate


@dataclass(frozen=True)
class ReceivedLineMessage:
    """A message a linked candidate sent to the company's Official Account.

    `content_type` is LINE's `message.type` (text, sticker, image, video, audio, file,
    location) or "unknown". `content_pending` says a download through the content API follows
    (`line_content_downloaded` or `line_content_unavailable` with the same message id).
    """

    candidate: Candidate
    line_message_id: str
    occurred_at: datetime  # the event's timestamp; the timeline orders by it
    content_type: str
    text: str = ""
    sender_name: str = ""
    sticker_package_id: str = ""
    sticker_id: str = ""
    file_name: str = ""
    file_size: int | None = None
    extra: dict = field(default_factory=dict)
    content_pending: bool = False


@dataclass(frozen=True)
class DownloadedContent:
    """A downloaded file, streamed to a temporary file (at most `content.max_bytes()`) that
    exists while the signal is being handled. `open()` reads it without loading it whole."""

    name: str
    path: Path
    content_type: str
    size: int

    def open(self) -> BinaryIO:
        return self.path.open("rb")

    @property
    def data(self) -> bytes:
        """The whole file in memory (capped by the download's size limit); prefer `open()`."""
        return self.path.read_bytes()


# kwargs: message=ReceivedLineMessage
line_message_received = Signal()

# kwargs: company_id=int, line_message_id=str, unsent_at=datetime
line_message_unsent = Signal()

# kwargs: company_id=int, line_message_id=str, content=DownloadedContent
line_content_downloaded = Signal()

# kwargs: company_id=int, line_message_id=str, status=str (one of content.GONE, NOT_FOUND, FAILED)
line_content_unavailable = Signal()
