"""Automatic messages (自動送信): confirmations, reminders and notices the apps above send
without a recruiter composing them. Always email only: the pipeline never creates a LINE
delivery for an automatic kind (the reference's rule), whatever the caller asks.

`send_automatic` runs in the caller's transaction, so a confirmation commits (or not) with
the application or booking it confirms. With `once_key` it inserts a unique
`AutomaticSendKey` first: a reminder tick that runs twice, concurrently or again after a
crash finds the key and sends nothing; on PostgreSQL a concurrent insert of the same key waits
for the first transaction and then fails, so exactly one of them sends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from candidates.models import Candidate
from hrmos.models import Company
from messaging.models import AUTOMATIC_KINDS, AutomaticSendKey, Send
from messaging.sending.compose import Draft, create_send

log = logging.getLogger(__name__)

# (file name, content, content type), e.g. ("event.ics", b"BEGIN:VCALENDAR…", "text/calendar")
Attachment = tuple[str, bytes, str]


def send_automatic(
    kind: str,
    *,
    company: Company,
    candidate: Candidate,
    subject: str,
    body: str,
    context: Mapping[str, Any] | None = None,
    attachments: Sequence[Attachment] = (),
    once_key: str | None = None,
    scheduled_at: datetime | None = None,
) -> Send | None:
    """Write an automatic email to one candidate (placeholders rendered for them); None when
    `once_key` was used already. Raises `ComposeError` for what compose would refuse (e.g. a
    placeholder with no value): the caller decides whether that fails its own operation."""
    if kind not in AUTOMATIC_KINDS:
        raise ValueError(f"{kind} is not an automatic kind")
    draft = Draft(
        kind=kind,
        subject=subject,
        body=body,
        send_line=False,
        context=dict(context or {}),
        scheduled_at=scheduled_at,
        attachments=[SimpleUploadedFile(name, data, content_type) for name, data, content_type in attachments],
    )
    with transaction.atomic():
        key = None
        if once_key is not None:
            key = _claim_key(company, once_key)
            if key is None:
                log.info("automatic %s for candidate %s: %s was sent already", kind, candidate.pk, once_key)
                return None
        send = create_send(draft, company=company, user=None, candidates=[candidate.pk])
        if key is not None:
            AutomaticSendKey.objects.filter(pk=key.pk).update(send=send)
    return send


def _claim_key(company: Company, once_key: str) -> AutomaticSendKey | None:
    try:
        with transaction.atomic():
            return AutomaticSendKey.objects.create(company=company, key=once_key[:200])
    except IntegrityError:
        return None


def was_sent(company: Company, once_key: str) -> bool:
    return AutomaticSendKey.objects.filter(company=company, key=once_key[:200]).exists()
