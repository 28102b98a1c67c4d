"""Personal form links (フォームURL): issuing them and finding them by token.

Messaging mints one per recipient when a message with `{{フォームURL}}` actually goes out
(`issue_form_link`). The token is `secrets.token_urlsafe(32)`; only its SHA-256 is stored and
the raw token exists only in the returned URL, never stored, never logged. A link is valid
while its form accepts answers, so it expires with the form's deadline.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat, timezone

from candidates.models import Candidate
from customforms.models import Form, FormLink
from hrmos.models import Company

TOKEN_MAX_LENGTH = 200


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def form_url(token: str) -> str:
    return settings.SITE_URL + reverse("customforms_public:answer", args=[token])


def create_link(candidate: Candidate, form: Form, now: datetime) -> tuple[FormLink, str]:
    """A new link row and its raw token (which is not stored)."""
    if candidate.company_id != form.company_id:
        raise ValueError("The candidate and the form belong to different companies.")
    token = secrets.token_urlsafe(32)
    link = FormLink.objects.create(
        company_id=form.company_id, form=form, candidate=candidate, token_hash=hash_token(token), created_at=now
    )
    return link, token


def issue_form_link(candidate: Candidate, form: Form, now: datetime) -> str:
    """A new personal link for the candidate to answer the form: the absolute URL that
    `{{フォームURL}}` becomes in the message that goes out."""
    return form_url(create_link(candidate, form, now)[1])


def find_link(token: str) -> FormLink | None:
    """The link for this raw token (whatever its form's state), or None."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return FormLink.objects.select_related("form__company", "candidate").filter(token_hash=hash_token(token)).first()


def deadline_text(form: Form) -> str:
    return dateformat.format(timezone.localtime(form.deadline), "Y年n月j日 H:i") if form.deadline else "なし"


def placeholder_values(form: Form) -> dict[str, str]:
    """Values for a message about this form (the send's context {"form": pk})."""
    return {"フォーム名": form.name, "回答期限": deadline_text(form)}


def form_choices(company: Company) -> list[tuple[int, str]]:
    """The forms a message can ask candidates to answer: those accepting answers now."""
    now = timezone.now()
    forms = Form.objects.for_company(company).filter(archived_at__isnull=True, is_published=True)
    return [
        (form.pk, form.name if form.deadline is None else f"{form.name}（回答期限 {deadline_text(form)}）")
        for form in forms.order_by("-created_at")
        if form.accepts_answers(now)
    ]
