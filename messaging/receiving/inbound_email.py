"""Inbound email: a candidate's reply by email lands on their timeline (with its attachments),
so the seed's 「候補者の受信メールのタイムラインの返信機能」 has something to reply to.

**Address scheme.** Each company receives at `reply+<Company.public_id>@<INBOUND_EMAIL_DOMAIN>`
(`reply_address(company)`; outgoing mail puts it in Reply-To). The company is found from the
envelope recipient when the transport gives one (`recipients`), else from Delivered-To,
X-Original-To, To and Cc. The sender (From) is matched case-insensitively to a candidate's
email in that company (the most recently registered one if several share it).

**Two doors, one function (`receive`)**:
- `POST /messages/inbound-email/` for a mail provider's inbound webhook: the raw RFC 822
  message as the body (any content type), or a multipart form with it in `email` / `body-mime`
  / `message`; an optional `recipient` field or query parameter for the envelope recipient.
  Authenticated by the header `X-Inbound-Email-Secret` = `INBOUND_EMAIL_SECRET` (constant-time
  compare); not configured → 404, wrong or missing → 403.
- `manage.py receive_email [--file F] [--recipient R]` for a local MTA pipe (stdin), exiting
  with sysexits codes an MTA understands (67 = bounce with our reason, 75 = try again later).

**Outcomes.** accepted (a new timeline item) / duplicate (same Message-ID for that candidate:
nothing new) / rejected with a reason: `unknown_recipient` (no company at that address) or
`unknown_sender` (no candidate has that email; not stored, but noted in the company's audit
trail and listed on the inbox page so a recruiter can fix the candidate's address). The HTTP
door answers 200 for all three with the outcome as JSON (a rejection is final; a 4xx would
make many providers retry it for days); 400 for a message without a sender, 503 when the
database is down (the provider retries).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html import unescape

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.html import strip_tags
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from candidates.models import Candidate
from hrmos.audit import log_action
from hrmos.models import Company
from hrmos.text import content_type, file_name, storable
from messaging.receiving import inbound
from messaging.receiving.inbox import REJECTED_EMAIL_ACTION

logger = logging.getLogger(__name__)

MAX_BYTES = 25 * 1024 * 1024
SECRET_HEADER = "X-Inbound-Email-Secret"  # noqa: S105 (a header name, not a secret)
FORM_FIELDS = ("email", "body-mime", "message")
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
ADDRESS = re.compile(r"^reply\+(?P<public_id>[a-z0-9]{4,32})@(?P<domain>[^@\s]+)$", re.IGNORECASE)

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"

REASONS = {
    "unknown_recipient": "宛先（reply+企業ID@…）に該当する企業がありません",
    "unknown_sender": "差出人のメールアドレスが登録されている候補者がいません",
}


class MalformedEmail(ValueError):
    pass


@dataclass(frozen=True)
class Result:
    status: str  # accepted / duplicate / rejected
    reason: str = ""  # for rejected: a key of REASONS
    message_pk: int | None = None

    @property
    def text(self) -> str:
        return REASONS.get(self.reason, self.status)


def reply_address(company: Company) -> str:
    """Where a company's candidates reply by email (for Reply-To on outgoing mail)."""
    return f"reply+{company.public_id}@{settings.INBOUND_EMAIL_DOMAIN}"


def _company(addresses: Iterable[str]) -> Company | None:
    domain = (settings.INBOUND_EMAIL_DOMAIN or "").lower()
    for address in addresses:
        match = ADDRESS.match(address.strip())
        if match is None or (domain and match["domain"].lower() != domain):
            continue
        company = Company.objects.filter(public_id=match["public_id"].lower()).first()
        if company is not None:
            return company
    return None


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, LookupError):  # a header the parser cannot decode
        return ""
    return storable(str(value or "")).strip()


def _addresses(message: EmailMessage, recipients: Sequence[str]) -> list[str]:
    found = [address for _, address in getaddresses(list(recipients))]
    for name in RECIPIENT_HEADERS:
        found += [address for _, address in getaddresses([_header(message, name)])]
    return [address for address in found if address]


def _text_of(part: MIMEPart) -> str:
    try:
        text = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset, broken encoding
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(text, str):
        return ""
    if part.get_content_type() == "text/html":
        text = unescape(strip_tags(text))
    return storable(text).replace("\r\n", "\n").strip()


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return _text_of(part) if part is not None else ""


def _attachments(message: EmailMessage) -> list[inbound.IncomingFile]:
    files = []
    for index, part in enumerate(message.iter_attachments(), start=1):
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        try:
            name = part.get_filename() or ""
        except (ValueError, LookupError):
            name = ""
        files.append(
            inbound.IncomingFile(
                name=file_name(name or f"attachment-{index}"),
                data=data,
                content_type=content_type(part.get_content_type()),
            )
        )
    return files


def _occurred_at(message: EmailMessage, now: datetime) -> datetime:
    """The Date header when it is plausible, else the arrival time."""
    try:
        sent = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return now
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=timezone.get_current_timezone())
    if sent > now + timedelta(minutes=5) or sent < now - timedelta(days=30):
        return now
    return sent


def receive(raw: bytes, *, recipients: Sequence[str] = ()) -> Result:
    """Put one raw RFC 822 email on the matching candidate's timeline."""
    if len(raw) > MAX_BYTES:
        raise MalformedEmail("the message is too large")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    sender_name, sender = parseaddr(_header(message, "From"))
    if not sender or "@" not in sender:
        raise MalformedEmail("the message has no From address")
    subject = _header(message, "Subject")
    company = _company(_addresses(message, recipients))
    if company is None:
        logger.info("Inbound email refused: no company at its recipient addresses")
        return Result(REJECTED, "unknown_recipient")
    candidate = Candidate.objects.filter(company=company, email__iexact=sender).order_by("-pk").first()
    if candidate is None:
        log_action(
            company,
            None,
            REJECTED_EMAIL_ACTION,
            summary=f"候補者と一致しないメールを受け付けませんでした: {sender}",
            **{"from": sender[:254], "subject": subject[:200]},
        )
        logger.info("Inbound email for company %s refused: unknown sender", company.pk)
        return Result(REJECTED, "unknown_sender")
    message_id = _header(message, "Message-ID")[:300] or f"<sha256-{hashlib.sha256(raw).hexdigest()}@inbound>"
    created_message, created = inbound.add_incoming_email(
        candidate,
        subject=subject,
        body=_body(message),
        from_address=sender,
        sender_name=sender_name,
        email_message_id=message_id,
        occurred_at=_occurred_at(message, timezone.now()),
        attachments=_attachments(message),
    )
    return Result(ACCEPTED if created else DUPLICATE, message_pk=created_message.pk)


# --- the HTTP door ------------------------------------------------------------------------


def _raw_from(request: HttpRequest) -> bytes:
    if request.content_type == "multipart/form-data":
        for name in FORM_FIELDS:
            if (upload := request.FILES.get(name)) is not None:
                return upload.read(MAX_BYTES + 1)
            if request.POST.get(name):
                return request.POST[name].encode("utf-8")
        return b""
    return request.read(MAX_BYTES + 1)  # not request.body: DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MB


@csrf_exempt
@login_not_required
@require_POST
def inbound_email(request: HttpRequest) -> JsonResponse:
    secret = settings.INBOUND_EMAIL_SECRET
    if not secret:
        return JsonResponse({"status": "error", "reason": "inbound email is not configured"}, status=404)
    if not constant_time_compare(request.headers.get(SECRET_HEADER, ""), secret):
        logger.warning("Inbound email refused: missing or wrong %s", SECRET_HEADER)
        return JsonResponse({"status": "error", "reason": "forbidden"}, status=403)
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BYTES * 2:
            return JsonResponse({"status": "error", "reason": "too large"}, status=413)
    except ValueError:
        pass
    recipients = request.GET.getlist("recipient")
    try:
        raw = _raw_from(request)
        if request.content_type == "multipart/form-data":
            recipients += request.POST.getlist("recipient")
        result = receive(raw, recipients=recipients)
    except MalformedEmail as exc:
        return JsonResponse({"status": "error", "reason": str(exc)}, status=400)
    except DatabaseError:
        logger.exception("Inbound email: database unavailable")
        return JsonResponse({"status": "error", "reason": "temporarily unavailable"}, status=503)
    body = {"status": result.status}
    if result.reason:
        body.update(reason=result.reason, detail=result.text)
    return JsonResponse(body)
