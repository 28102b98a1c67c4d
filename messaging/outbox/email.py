"""Sending a batch of claimed email deliveries through Django's email backend.

One message per recipient, over one backend connection per batch. A deterministic
Message-ID (`<delivery uuid@site>`) ties every copy to its row. Email has no idempotency key,
so it is at-least-once: a worker killed between the SMTP "250" and our commit resends that
one email after the lease expires. Permanent SMTP refusals (5xx) fail at once; other SMTP
and network errors are retried with backoff, then failed with the reason. Anything else (a
header Django refuses, a bug met with one recipient's data) fails that one delivery with a
readable reason and the error logged; the rest of the batch goes on.

The subject, body and address are fixed at the first attempt and stored before any email of
the batch goes out, so a resend after a crash is the same email. The friend-registration URL
is the exception: it is minted when the email goes out, so a resent invitation carries a new
link; the earlier one stays valid until it expires (the token is never stored to reuse).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from line_integration.friends.invitations import issue_invitation
from messaging import rendering, rules
from messaging.addresses import reply_address, site_domain
from messaging.models import Delivery, RecipientKind, Send, SendAttachment
from messaging.outbox import rows, smtp
from messaging.placeholders import SendScope

log = logging.getLogger(__name__)

REASON_BAD_HEADER = "メールのヘッダーに使えない文字（改行など）が含まれているため送信できませんでした"


def _address(delivery: Delivery) -> tuple[str, str]:
    """(current address, reason when there is none) for the delivery's recipient."""
    candidate = delivery.candidate
    if candidate is None:
        return "", rules.REASON_CANDIDATE_DELETED
    if delivery.recipient_kind == RecipientKind.AGENT:
        if candidate.agent is None:
            return "", rules.REASON_NO_AGENT
        return candidate.agent.contact_email, rules.REASON_NO_AGENT_EMAIL
    return candidate.email, rules.REASON_NO_EMAIL


def named(name: str, address: str) -> str:
    """`"名前" <address>`; Django encodes the non-ASCII name when it builds the headers. Line
    breaks (a name imported from CSV) would make Django refuse the header: they become spaces."""
    name = rendering.one_line(name).replace('"', "").replace("\\", "").strip()
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


def _reply_to(send: Send) -> list[str]:
    """Candidates' replies go to the company's inbound address when the inbound door is open,
    so they land on the timeline; otherwise to the recruiter who sent."""
    if settings.INBOUND_EMAIL_SECRET:
        return [reply_address(send.company)]
    return [send.created_by.email] if send.created_by is not None and send.created_by.email else []


def build(
    delivery: Delivery, body: str, attachments: list[SendAttachment], connection: BaseEmailBackend
) -> EmailMessage:
    send = delivery.send
    headers = {"Message-ID": f"<{delivery.id}@{site_domain()}>"}
    origin = send.in_reply_to
    if origin is not None and origin.email_message_id:
        headers["In-Reply-To"] = origin.email_message_id
        headers["References"] = origin.email_message_id
    message = EmailMessage(
        subject=rendering.one_line(delivery.rendered_subject),
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


def process(batch: list[Delivery]) -> None:
    send = batch[0].send
    # One per batch: context objects load once, per-candidate values for the whole batch.
    scope = rendering.scope_of(send, [delivery.candidate_id for delivery in batch])
    attachments = list(SendAttachment.objects.filter(send=send))
    outcomes: list[rows.Outcome] = []
    ready: list[Delivery] = []
    prepared: list[Delivery] = []
    for delivery in batch:
        try:
            outcome = _prepare(delivery, prepared, scope)
        except Exception as exc:
            outcome = _unexpected(delivery, exc)
        if outcome is None:
            ready.append(delivery)
        else:
            outcomes.append(outcome)
    rows.persist_prepared(prepared, ["address", "rendered_subject", "rendered_body"])

    connection = smtp.open_backend()
    opened = False
    try:
        for delivery in ready:
            started_at, clock = timezone.now(), time.monotonic()
            try:
                if not opened:
                    connection.open()
                    opened = True
                _message(delivery, attachments, connection, scope).send()
            except (smtplib.SMTPException, OSError) as exc:
                reason = f"メールを送信できませんでした：{exc}"[:300]
                if _permanent(exc):
                    outcome = rows.failed(delivery, reason)
                else:
                    outcome = rows.retry_or_fail(delivery, reason)
                    # A broken connection: start a fresh one for the rest of the batch.
                    with contextlib.suppress(Exception):
                        connection.close()
                    opened = False
                reply, error = smtp.error_reply(exc), f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                outcome, reply, error = _unexpected(delivery, exc), "", f"{type(exc).__name__}: {exc}"
            else:
                outcome, reply, error = rows.sent(delivery), smtp.last_reply(connection), ""
            outcome.attempt = rows.Attempt(
                started_at=started_at,
                duration_ms=round((time.monotonic() - clock) * 1000),
                smtp_response=reply,
                error=error,
            )
            outcomes.append(outcome)
    finally:
        rows.apply_outcomes(outcomes)
        if opened:
            try:
                connection.close()
            except Exception:
                log.warning("closing the email connection failed", exc_info=True)


def _prepare(delivery: Delivery, prepared: list[Delivery], scope: SendScope) -> rows.Outcome | None:
    """None when the email may go; else its outcome. A first attempt fixes the address and the
    rendered copy here (and joins `prepared`, to be stored before any email goes out)."""
    if delivery.candidate_id is None:
        return rows.skipped(delivery, rules.REASON_CANDIDATE_DELETED)
    changed = False
    if delivery.attempts <= 1 or not delivery.address:
        address, reason = _address(delivery)
        if not address:
            return rows.skipped(delivery, reason)
        changed = address != delivery.address
        delivery.address = address
    if not delivery.rendered_body:
        rendered = rendering.render_delivery(delivery, scope)
        # The stored body keeps {{LINE友達登録URL}} and other personal links: no token is stored.
        delivery.rendered_subject, delivery.rendered_body = rendered.subject, rendered.email_body
        changed = True
    if changed:
        prepared.append(delivery)
    return None


def _message(
    delivery: Delivery, attachments: list[SendAttachment], connection: BaseEmailBackend, scope: SendScope
) -> EmailMessage:
    send = delivery.send
    now = timezone.now()
    body = delivery.rendered_body
    if send.include_friend_invitation and delivery.recipient_kind == RecipientKind.CANDIDATE:
        assert delivery.candidate is not None  # _prepare skipped the deliveries of deleted candidates
        # Minted per attempt: a resend carries a new link, the earlier one stays valid.
        url = issue_invitation(delivery.candidate, now=now, delivery_id=delivery.id)
        body = rendering.render(body, {rendering.FRIEND_URL: url})
    # Last: it takes out the guards that kept values' braces from being read as placeholders.
    body = rendering.fill_links(body, rendering.recipient_of(delivery, scope), now)
    return build(delivery, body, attachments, connection)


def _unexpected(delivery: Delivery, exc: Exception) -> rows.Outcome:
    if isinstance(exc, BadHeaderError):
        log.warning("email delivery %s refused by Django: %s", delivery.id, exc)
        return rows.failed(delivery, REASON_BAD_HEADER)
    log.exception("email delivery %s failed unexpectedly", delivery.id)
    return rows.failed(delivery, rules.REASON_UNEXPECTED)


__all__ = ["build", "named", "process"]
