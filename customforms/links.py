"""Personal form links (フォームURL), and what a message about a form carries.

Only a token's SHA-256 is stored; the raw token exists only in the URL, never stored, never
logged. Inside a message (`{{フォームURL}}`) the token is messaging's, derived from the
delivery and the same on every retry of it, so `message_link` stores its hash once; anywhere
else (`issue_form_link`: the demo, a page of our own) it is `secrets.token_urlsafe(32)`. A
link is valid while its form accepts answers, so it expires with the form's deadline.

The form request (フォームのご案内, a manual send: the LINE switch is offered) is about a form
(`context={"form": pk}`); its placeholders are `PLACEHOLDERS`, registered by the AppConfig.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat, timezone

from candidates.models import Candidate
from customforms.models import Form, FormLink
from hrmos import personal_links
from hrmos.models import Company
from hrmos.personal_links import find_by_token
from messaging.kinds import ComposeKind
from messaging.models import Kind
from messaging.placeholders import Placeholder, Recipient

logger = logging.getLogger(__name__)

FORM = "form"  # what a message about a form carries in its context: {"form": pk}


def form_url(token: str) -> str:
    return settings.SITE_URL + reverse("customforms_public:answer", args=[token])


def _same_company(candidate: Candidate, form: Form) -> None:
    if candidate.company_id != form.company_id:
        raise ValueError("The candidate and the form belong to different companies.")


def create_link(candidate: Candidate, form: Form, now: datetime) -> tuple[FormLink, str]:
    """A new link row with a random token, and the token (which is not stored)."""
    _same_company(candidate, form)
    return personal_links.create_link(FormLink, now, company_id=form.company_id, form=form, candidate=candidate)


def issue_form_link(candidate: Candidate, form: Form, now: datetime) -> str:
    """A new personal link with a random token, as an absolute URL (not for messages: those
    use the token messaging gives, see `message_link`)."""
    return form_url(create_link(candidate, form, now)[1])


def link_for_token(candidate: Candidate, form: Form, token: str, now: datetime) -> FormLink:
    """The link row of a given token, created the first time: a retried delivery brings the
    same token again and must find the link it minted before."""
    _same_company(candidate, form)
    return personal_links.link_for_token(
        FormLink, token, now, company_id=form.company_id, form=form, candidate=candidate
    )


def find_link(token: str) -> FormLink | None:
    """The link for this raw token (whatever its form's state), or None."""
    return find_by_token(FormLink.objects.select_related("form__company", "candidate"), token)


def deadline_text(form: Form) -> str:
    return dateformat.format(timezone.localtime(form.deadline), "Y年n月j日 H:i") if form.deadline else "なし"


def form_choices(company: Company) -> list[tuple[int, str]]:
    """The forms a message can ask candidates to answer: those accepting answers now."""
    now = timezone.now()
    forms = Form.objects.for_company(company).filter(archived_at__isnull=True, is_published=True)
    return [
        (form.pk, form.name if form.deadline is None else f"{form.name}（回答期限 {deadline_text(form)}）")
        for form in forms.order_by("-created_at")
        if form.accepts_answers(now)
    ]


# ---------------------------------------------------------------------------- messages


def _form_of(recipient: Recipient) -> Form | None:
    return recipient.scope.related(Form, FORM)


def form_name(recipient: Recipient) -> str | None:
    form = _form_of(recipient)
    return form.name if form else None


def form_deadline(recipient: Recipient) -> str | None:
    form = _form_of(recipient)
    return deadline_text(form) if form else None


def message_link(recipient: Recipient, token: str, now: datetime) -> str:
    """`{{フォームURL}}` as one email or LINE message goes out: this recipient's link for the
    send's form, under the token messaging derived from the delivery."""
    form, candidate = _form_of(recipient), recipient.candidate
    if form is not None and candidate is not None:
        link_for_token(candidate, form, token, now)
    else:  # gone since compose: the URL leads to the page saying the link is not valid
        logger.warning("Form link not stored: form or candidate gone (delivery %s)", recipient.delivery_id)
    return form_url(token)


PLACEHOLDERS = (
    Placeholder(
        "フォーム名",
        "フォームの名前",
        needs=FORM,
        needs_label="フォーム",
        value=form_name,
        per_candidate=False,
        order=50,
    ),
    Placeholder(
        "フォームURL",
        "候補者ごとのフォーム回答URL（送信時に発行）",
        needs=FORM,
        needs_label="フォーム",
        link=message_link,
        order=51,
    ),
    Placeholder(
        "回答期限",
        "フォームの回答期限（期限がなければ「なし」）",
        needs=FORM,
        needs_label="フォーム",
        value=form_deadline,
        per_candidate=False,
        order=52,
    ),
)

REQUEST_SUBJECT = "【{{企業名}}】「{{フォーム名}}」へのご回答のお願い"
REQUEST_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当の{{送信者名}}です。
「{{フォーム名}}」へのご回答をお願いいたします。
以下のURLからご回答ください（{{候補者氏名}} 様専用のURLです）。

{{フォームURL}}

回答期限：{{回答期限}}

ご不明な点がございましたら、お気軽にお問い合わせください。
"""
REQUEST_KIND = ComposeKind(
    Kind.FORM_REQUEST,
    "フォームのご案内",
    context_key=FORM,
    context_label="フォーム",
    choices=form_choices,
    initial_subject=REQUEST_SUBJECT,
    initial_body=REQUEST_BODY,
)
