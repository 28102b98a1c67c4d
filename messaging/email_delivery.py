"""Sending a batch of claimed email deliveries through Django's email backend.

One message per recipient, over one backend connection per batch. A deterministic
Message-ID (`<delivery uuid@site>`) ties every copy to its row. Email has no idempotency key,
so it is at-least-once: a worker killed between the SMTP "250" and our commit resends that
one email after the lease expires. Permanent SMTP refusals (5xx) fail at once; anything else
is retried with backoff, then failed with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from line_integration.invitations import issue_invitation
from messaging import pipeline, rendering, rules
from messaging.compose import context_for
from messaging.inbound_email import reply_address
from messaging.models import Delivery, RecipientKind, SendAttachment

log = logging.getLogger(__name__)


def _address(delivery: Delivery) -> tuple[str, str]:
    """(current address, reason when there is none) for the delivery's recipient."""
    candidate = delivery.candidate
    if delivery.recipient_kind == RecipientKind.AGENT:
        if candidate.agent is None:
            return "", rules.REASON_NO_AGENT
        return candidate.agent.contact_email, rules.REASON_NO_AGENT_EMAIL
    return candidate.email, rules.REASON_NO_EMAIL


def named(name: str, address: str) -> str:
    """`"名前" <address>`; Django encodes the non-ASCII name when it builds the headers."""
    name = name.replace('"', "").replace("\\", "").strip()
    return f'"{name}" <{address}>' if name else address


def _from_address(company_name: str) -> str:
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return named(company_name, address or "no-reply@localhost")


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _reply_to(send) -> list[str]:
    """Candidates' replies go to the company's inbound address when the inbound door is open,
    so they land on the timeline; otherwise to the recruiter who sent."""
    if settings.INBOUND_EMAIL_SECRET:
        return [reply_address(send.company)]
    return [send.created_by.email] if send.created_by is not None and send.created_by.email else []


def build(delivery: Delivery, body: str, attachments: list[SendAttachment], connection) -> EmailMessage:
    send = delivery.send
    headers = {"Message-ID": f"<{delivery.id}@{pipeline.site_domain()}>"}
    origin = send.in_reply_to
    if origin is not None and origin.email_message_id:
        headers["In-Reply-To"] = origin.email_message_id
        headers["References"] = origin.email_message_id
    message = EmailMessage(
        subject=delivery.rendered_subject,
        body=body,
        from_email=_from_address(send.company.name),
        to=[named(delivery.recipient_name, delivery.address)],
        reply_to=_reply_to(send),
        headers=headers,
        connection=connection,
    )
    for attachment in attachments:
        with attachment.file.open("rb") as handle:
            message.attach(attachment.name, handle.read(), attachment.content_type or None)
    return message


def start(batch: list[Delivery]) -> None:
    """Email is sent synchronously (one connection per batch); nothing is left to finish."""
    process(batch)


def finish(pending: None) -> None:
    return None


def process(batch: list[Delivery]) -> None:
    send = batch[0].send
    attachments = list(SendAttachment.objects.filter(send=send))
    outcomes: list[pipeline.Outcome] = []
    connection = get_connection(fail_silently=False)
    opened = False
    try:
        for delivery in batch:
            if delivery.candidate_id is None:
                outcomes.append(pipeline.skipped(delivery, rules.REASON_CANDIDATE_DELETED))
                continue
            if delivery.attempts <= 1 or not delivery.address:
                address, reason = _address(delivery)
                if not address:
                    outcomes.append(pipeline.skipped(delivery, reason))
                    continue
                delivery.address = address
            if not delivery.rendered_body:
                rendered = rendering.render_for_recipient(
                    send.subject,
                    send.body,
                    context_for(delivery.candidate, send.company, send.sender_name),
                    friend_invitation=send.include_friend_invitation,
                )
                # The stored body keeps {{LINE友達登録URL}}: the token is never stored.
                delivery.rendered_subject, delivery.rendered_body = rendered.subject, rendered.email_body
            body = delivery.rendered_body
            if send.include_friend_invitation and delivery.recipient_kind == RecipientKind.CANDIDATE:
                url = issue_invitation(delivery.candidate, now=timezone.now(), delivery_id=delivery.id)
                body = rendering.render(body, {rendering.FRIEND_URL: url})
            try:
                if not opened:
                    connection.open()
                    opened = True
                build(delivery, body, attachments, connection).send()
            except (smtplib.SMTPException, OSError) as exc:
                reason = f"メールを送信できませんでした：{exc}"[:300]
                if _permanent(exc):
                    outcomes.append(pipeline.failed(delivery, reason))
                else:
                    outcomes.append(pipeline.retry_or_fail(delivery, reason))
                    # A broken connection: start a fresh one for the rest of the batch.
                    with contextlib.suppress(Exception):
                        connection.close()
                    opened = False
                continue
            outcomes.append(pipeline.sent(delivery))
    finally:
        pipeline.apply_outcomes(outcomes)
        if opened:
            try:
                connection.close()
            except Exception:
                log.warning("closing the email connection failed", exc_info=True)


__all__ = ["build", "named", "process"]
