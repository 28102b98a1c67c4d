"""One-click re-send of a fresh LINE friend-registration link (友達登録URL) to one candidate,
from the candidate's 「LINE友達登録」 tab.

It is an email, so it goes through the sending pipeline like any other: `compose.create_send`
writes the Send, its Message and Delivery, and the email worker mints the invitation (valid
7 days from the real send) when it renders the email. Its kind is 「LINE友達登録のご案内」, one
of the two kinds that may carry the friend-registration URL (with the list's bulk send; the
seed keeps it off the detail page's free-form 「メッセージを送信」): this button sends a fixed
text, not a composed one.
"""

from __future__ import annotations

import logging

from django.contrib import messages as flash
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from candidates.detail import candidate_or_404
from hrmos.http import RecruiterRequest
from hrmos.tenancy import request_company
from line_integration.models import LineAccount
from messaging import rendering, rules
from messaging.models import Kind
from messaging.sending import compose

log = logging.getLogger(__name__)

SUBJECT = "【{{" + rendering.COMPANY_NAME + "}}】LINE友達登録のお願い"
BODY = (
    "{{" + rendering.FULL_NAME + "}} 様\n\n"
    "{{" + rendering.COMPANY_NAME + "}} 採用担当の{{" + rendering.SENDER_NAME + "}}です。\n\n"
    "選考に関するご連絡を、LINEでもお送りできるようにしております。\n"
    "お手数ですが、以下のURLからLINEでログインし、当社のLINE公式アカウントを友だち追加してください。\n"
    "（URLの有効期限は、このメールの送信から1週間です）\n\n"
    "{{" + rendering.FRIEND_URL + "}}\n\n"
    "ご不明な点がございましたら、このメールにご返信ください。\n"
)


@require_POST
def resend(request: RecruiterRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    company = request_company(request)
    back = reverse("line:candidate_friend", args=[candidate.pk])
    if LineAccount.objects.filter(candidate=candidate).exists():
        flash.info(request, f"{candidate.name}さんはLINE友達登録済みのため、友達登録URLは送信しませんでした。")
        return redirect(back)
    if not rules.is_linked(company):
        flash.error(request, "LINE連携が「連携中」ではないため、友達登録URLを送信できません。")
        return redirect(back)
    if not candidate.email:
        flash.error(request, f"{candidate.name}さんのメールアドレスが登録されていないため、送信できません。")
        return redirect(back)
    draft = compose.Draft(kind=Kind.FRIEND_INVITATION, subject=SUBJECT, body=BODY, include_friend_invitation=True)
    try:
        send = compose.create_send(draft, company=company, user=request.user, candidates=[candidate.pk])
    except compose.ComposeError as exc:
        log.warning("friend invitation re-send refused for candidate %s: %s", candidate.pk, exc)
        flash.error(request, f"友達登録URLを送信できませんでした：{exc}")
        return redirect(back)
    flash.success(
        request,
        f"{candidate.name}さんに新しい友達登録URLをメールで送信しました（有効期限：送信から1週間）。",
    )
    log.info("friend invitation re-sent to candidate %s (send %s)", candidate.pk, send.pk)
    return redirect(back)
