"""Receivers of line_integration's signals: received LINE messages become timeline items.

Connected in `MessagingConfig.ready()`. Each is idempotent (see messaging.inbound), because an
event may be processed again after a crash or a retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from line_integration.signals import (
    DownloadedContent,
    ReceivedLineMessage,
    line_content_downloaded,
    line_content_unavailable,
    line_message_received,
    line_message_unsent,
)
from messaging.receiving import inbound


@receiver(line_message_received, dispatch_uid="messaging_line_message_received")
def line_message_to_timeline(message: ReceivedLineMessage, **kwargs: Any) -> None:
    extra = dict(message.extra)
    if message.content_pending:
        extra.setdefault("content_status", inbound.CONTENT_PENDING)
    inbound.add_incoming_line_message(
        message.candidate,
        line_message_id=message.line_message_id,
        occurred_at=message.occurred_at,
        content_type=message.content_type,
        text=message.text,
        sender_name=message.sender_name,
        sticker_package_id=message.sticker_package_id,
        sticker_id=message.sticker_id,
        file_name=message.file_name,
        file_size=message.file_size,
        extra=extra,
    )


@receiver(line_message_unsent, dispatch_uid="messaging_line_message_unsent")
def line_message_hidden(company_id: int, line_message_id: str, unsent_at: datetime, **kwargs: Any) -> None:
    inbound.mark_line_unsent(company_id, line_message_id, now=unsent_at)


@receiver(line_content_downloaded, dispatch_uid="messaging_line_content_downloaded")
def line_content_attached(company_id: int, line_message_id: str, content: DownloadedContent, **kwargs: Any) -> None:
    file = inbound.IncomingFile(name=content.name, data=content.data, content_type=content.content_type)
    inbound.set_line_content(company_id, line_message_id, status=inbound.CONTENT_READY, file=file)


@receiver(line_content_unavailable, dispatch_uid="messaging_line_content_unavailable")
def line_content_missing(company_id: int, line_message_id: str, status: str, **kwargs: Any) -> None:
    inbound.set_line_content(company_id, line_message_id, status=status)
