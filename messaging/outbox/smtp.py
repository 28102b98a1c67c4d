"""Django's SMTP backend, keeping the mail server's reply to each message ("250 2.0.0 Ok:
queued as …", the server's own id for it) for the delivery's attempt log."""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoEmailBackend

DJANGO_SMTP = "django.core.mail.backends.smtp.EmailBackend"


def _text(code: int, reply: bytes) -> str:
    return f"{code} {reply.decode(errors='replace')}".strip()


class RecordingSMTP(smtplib.SMTP):
    last_reply = ""

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, reply = super().data(msg)
        self.last_reply = _text(code, reply)
        return code, reply


class RecordingSMTPSSL(smtplib.SMTP_SSL):
    last_reply = ""

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, reply = super().data(msg)
        self.last_reply = _text(code, reply)
        return code, reply


class EmailBackend(DjangoEmailBackend):
    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return RecordingSMTPSSL if self.use_ssl else RecordingSMTP


def open_backend() -> BaseEmailBackend:
    """The configured backend; Django's SMTP one is swapped for the recording one above."""
    if settings.EMAIL_BACKEND == DJANGO_SMTP:
        return get_connection(f"{__name__}.EmailBackend", fail_silently=False)
    return get_connection(fail_silently=False)


def last_reply(backend: BaseEmailBackend) -> str:
    """The server's reply to the last message sent over `backend` ("" if it keeps none)."""
    return str(getattr(getattr(backend, "connection", None), "last_reply", ""))


def error_reply(exc: Exception) -> str:
    """The server's reply inside an SMTP error, when there was one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(_text(code, reply) for code, reply in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        return _text(exc.smtp_code, reply if isinstance(reply, bytes) else str(reply).encode())
    return ""
