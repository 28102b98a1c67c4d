"""What the receiving side (LINE webhook processing, inbound email) calls to put incoming
messages on a candidate's timeline (the unread bookkeeping is in inbox.py).

All functions are idempotent where the input carries an id: the same LINE message id (or
email Message-ID) twice gives the same `Message`, never two; unique constraints make that
hold for concurrent deliveries of the same message too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from candidates.models import Candidate
from hrmos.models import Company
from hrmos.tenancy import company_pk
from hrmos.text import content_type, file_name
from messaging import live
from messaging.models import Channel, Message, MessageAttachment

log = logging.getLogger(__name__)

UNSENT_PLACEHOLDER = "候補者が送信を取り消しました"


@dataclass(frozen=True)
class IncomingFile:
    name: str
    data: bytes
    content_type: str = ""


def add_incoming_line_message(
    candidate: Candidate,
    *,
    line_message_id: str,
    occurred_at: datetime,
    content_type: str = Message.ContentType.TEXT,
    text: str = "",
    sender_name: str = "",
    sticker_package_id: str = "",
    sticker_id: str = "",
    file_name: str = "",
    file_size: int | None = None,
    extra: dict | None = None,
) -> tuple[Message, bool]:
    """(message, created). `occurred_at` is the webhook event's timestamp: the timeline
    orders by it, not by arrival. Unknown content types are stored as `unknown`."""
    if content_type not in Message.ContentType.values:
        content_type = Message.ContentType.UNKNOWN
    defaults = {
        "candidate": candidate,
        "channel": Channel.LINE,
        "direction": Message.Direction.IN,
        "body": text,
        "occurred_at": occurred_at,
        "content_type": content_type,
        "sender_name": sender_name,
        "sticker_package_id": sticker_package_id,
        "sticker_id": sticker_id,
        "file_name": file_name,
        "file_size": file_size,
        "extra": extra or {},
    }
    try:
        with transaction.atomic():
            message, created = Message.objects.get_or_create(
                company_id=candidate.company_id, line_message_id=line_message_id, defaults=defaults
            )
    except IntegrityError:  # a concurrent insert of the same LINE message won
        return Message.objects.get(company_id=candidate.company_id, line_message_id=line_message_id), False
    if created:
        _arrived(message)
    return message, created


def _arrived(message: Message) -> None:
    """The candidate's open screens and the company's inbox show what changed."""
    live.changed(candidates=[message.candidate_id], inboxes=[message.company_id])


def attach_file(message: Message, file: IncomingFile) -> MessageAttachment:
    """Store downloaded LINE content or an email attachment (private, served by a scoped view)."""
    name = file_name(file.name)
    attachment = MessageAttachment(
        company_id=message.company_id,
        message=message,
        name=name,
        size=len(file.data),
        content_type=content_type(file.content_type),
    )
    attachment.file.save(name, ContentFile(file.data), save=False)
    attachment.save()
    return attachment


def add_incoming_email(
    candidate: Candidate,
    *,
    subject: str,
    body: str,
    from_address: str,
    occurred_at: datetime,
    sender_name: str = "",
    email_message_id: str = "",
    attachments: Iterable[IncomingFile] = (),
) -> tuple[Message, bool]:
    """A received email on the timeline (its 返信 button uses the sending pipeline). The same
    Message-ID twice, even from two concurrent provider retries, gives one item."""
    email_message_id = email_message_id[:300]
    if email_message_id:
        existing = Message.objects.filter(company_id=candidate.company_id, email_message_id=email_message_id).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            message = Message.objects.create(
                company_id=candidate.company_id,
                candidate=candidate,
                channel=Channel.EMAIL,
                direction=Message.Direction.IN,
                subject=subject[:300],
                body=body,
                from_address=from_address[:254],
                sender_name=sender_name[:200],
                email_message_id=email_message_id,
                occurred_at=occurred_at,
            )
            for file in attachments:  # after the row: a duplicate fails before any file is written
                attach_file(message, file)
    except IntegrityError:
        if not email_message_id:
            raise
        # A concurrent delivery of the same email won the (company, Message-ID) constraint.
        return Message.objects.get(company_id=candidate.company_id, email_message_id=email_message_id), False
    _arrived(message)
    return message, True


def mark_line_unsent(company: Company | int, line_message_id: str, *, now: datetime | None = None) -> bool:
    """The candidate unsent a LINE message: what they sent is removed, not just hidden (the
    text, the stored file, sticker and location details); the item stays on the timeline as
    「候補者が送信を取り消しました」. Files are deleted from storage after the commit."""
    company_id = company_pk(company)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(company_id=company_id, line_message_id=line_message_id, unsent_at__isnull=True)
            .first()
        )
        if message is None:
            return False
        attachments = list(message.attachments.all())
        MessageAttachment.objects.filter(pk__in=[a.pk for a in attachments]).delete()
        Message.objects.filter(pk=message.pk).update(
            unsent_at=now or timezone.now(),
            body="",
            file_name="",
            file_size=None,
            sticker_package_id="",
            sticker_id="",
            extra={},
        )
        files = [a.file for a in attachments if a.file]
        transaction.on_commit(lambda: _delete_files(files), robust=True)
        _arrived(message)
    return True


def _delete_files(files: list) -> None:
    for file in files:
        try:
            file.storage.delete(file.name)
        except Exception:
            log.exception("could not delete the unsent LINE file %s", file.name)


# --- LINE content (added by the receiving side) --------------------------------------------

CONTENT_PENDING = "pending"
CONTENT_READY = "ready"


def set_line_content(
    company: Company | int, line_message_id: str, *, status: str, file: IncomingFile | None = None
) -> bool:
    """Record how downloading a LINE message's content ended: the file is attached once (a
    repeated download changes nothing) and `extra["content_status"]` says ready / gone /
    not_found / failed for the timeline. False when there is no such message."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(company_id=company_pk(company), line_message_id=line_message_id)
            .first()
        )
        if message is None:
            return False
        if message.unsent_at is not None:
            return True  # the candidate unsent it before the download finished: keep nothing
        if file is not None and not message.attachments.exists():
            attach_file(message, file)
        if message.extra.get("content_status") != status:
            message.extra = {**message.extra, "content_status": status}
            Message.objects.filter(pk=message.pk).update(extra=message.extra)
        _arrived(message)
    return True
