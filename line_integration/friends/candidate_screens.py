"""LINE on the candidate screens, plugged in through `candidates.extensions` (see apps.py).

- The list: a LINE status filter (友達 / ブロック / 未友達 / 未連携 / 招待中 / 招待期限切れ) and an
  icon per row. The row icon reads `candidate.line_account`, which the queryset hook fetches
  in the list's own query (a LEFT JOIN), so a page of rows costs no extra query.
- The detail page: a badge to the right of the email (「LINE友達」, 「ブロック」, 「未友達」, and a
  warning when a LINE account conflict involves the candidate) and the 「LINE友達登録」 tab with
  the LINE profile, the invitations sent (expiry, used), recent login attempts and the re-send.

Recruiters cannot unregister a LINE friend (the seed's rule); the tab says so. Deleting the
candidate deletes the LINE account with it (CASCADE).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from candidates.detail import candidate_or_404, detail_context
from candidates.models import Candidate
from hrmos.models import Company
from line_integration.models import FriendInvitation, LineAccount, LineIntegration, LineLoginAttempt

TAB_KEY = "line_friend"
FILTER_KEY = "line"

FRIEND = "friend"
BLOCKED = "blocked"
NOT_FRIEND = "not_friend"
UNLINKED = "unlinked"
INVITED = "invited"
INVITATION_EXPIRED = "invitation_expired"

STATUS_CHOICES: list[tuple[str, str]] = [
    (FRIEND, "友達"),
    (BLOCKED, "ブロック"),
    (NOT_FRIEND, "未友達（ログインのみ）"),
    (UNLINKED, "未連携"),
    (INVITED, "招待中"),
    (INVITATION_EXPIRED, "招待期限切れ"),
]


# What a login attempt's failure code means, for the recruiter (the code itself is for support).
REASON_LABELS = {
    "line_error:access_denied": "候補者がLINEの画面でキャンセルしました",
    "attempt_expired": "10分以内にLINEログインが完了しませんでした",
    "attempt_used": "同じログインがすでに処理されています",
    "session_mismatch": "ログインを始めたブラウザと異なるブラウザで戻りました",
    "not_linked": "LINE連携が停止していました",
    "invitation_used": "友達登録URLがすでに使用済みでした",
    "line_user_taken": "別の候補者に登録済みのLINEアカウントでした",
    "code_missing": "LINEからの応答が不完全でした",
}
REASON_PREFIX_LABELS = {
    "line_error:": "LINEがエラーを返しました",
    "token:": "LINEとのトークン交換に失敗しました",
    "id_token:": "IDトークンの検証に失敗しました",
    "profile:": "LINEのプロフィールを確認できませんでした",
}


def reason_label(code: str) -> str:
    if not code:
        return ""
    if code in REASON_LABELS:
        return REASON_LABELS[code]
    for prefix, label in REASON_PREFIX_LABELS.items():
        if code.startswith(prefix):
            return f"{label}（{code}）"
    return code


def status_choices(company: Company) -> list[tuple[str, str]]:
    """The filter's choices. `candidates.extensions.ListFilter` passes every filter the company;
    LINE's statuses are the same for all companies."""
    return STATUS_CHOICES


def _invitations(valid_only: bool) -> Exists:
    invitations = FriendInvitation.objects.filter(candidate=OuterRef("pk"))
    if valid_only:
        invitations = invitations.filter(used_at__isnull=True, expires_at__gt=timezone.now())
    return Exists(invitations)


def filter_by_status(queryset: QuerySet[Candidate], value: str) -> QuerySet[Candidate]:
    """未連携 is every candidate without a LINE account; 招待中 and 招待期限切れ narrow it to those
    holding an unexpired unused invitation, or only expired ones."""
    if value in (FRIEND, BLOCKED, NOT_FRIEND):
        return queryset.filter(line_account__friend_state=value)
    unlinked = queryset.filter(line_account__isnull=True)
    if value == UNLINKED:
        return unlinked
    if value == INVITED:
        return unlinked.filter(_invitations(valid_only=True))
    if value == INVITATION_EXPIRED:
        return unlinked.filter(_invitations(valid_only=False)).exclude(_invitations(valid_only=True))
    return queryset


def with_line_account(queryset: QuerySet[Candidate]) -> QuerySet[Candidate]:
    """The queryset hook: each row's LINE account in the same query."""
    return queryset.select_related("line_account")


def open_conflicts(candidate: Candidate) -> QuerySet[LineLoginAttempt]:
    """Refused registrations involving the candidate, either as the one whose link was used or
    as the one already holding that LINE account, while the refused candidate is still unlinked."""
    return (
        LineLoginAttempt.objects.filter(company_id=candidate.company_id, outcome=LineLoginAttempt.Outcome.CONFLICT)
        .filter(Q(invitation__candidate=candidate) | Q(conflicting_candidate=candidate))
        .filter(invitation__candidate__line_account__isnull=True)
        .select_related("invitation__candidate", "conflicting_candidate")
        .order_by("-created_at")
    )


def _resend_url(candidate: Candidate) -> str:
    try:
        return reverse("messaging:friend_invitation_resend", args=[candidate.pk])
    except NoReverseMatch:  # the sending side is not installed
        return ""


@require_GET
def candidate_tab(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    """The 「LINE友達登録」 tab of the candidate detail page."""
    candidate = candidate_or_404(request, candidate_pk)
    context = detail_context(request, candidate, active_tab=TAB_KEY)
    now = timezone.now()
    account = LineAccount.objects.filter(candidate=candidate).first()
    integration = LineIntegration.objects.for_company_or_none(candidate.company_id)
    linked = integration is not None and integration.is_linked
    # (invitation, status label, badge tone) and (attempt, reason label): the template unpacks them.
    invitations = [
        (invitation, *_invitation_status(invitation, now))
        for invitation in candidate.friend_invitations.order_by("-created_at")[:20]
    ]
    attempts = [
        (attempt, reason_label(attempt.failure_reason))
        for attempt in LineLoginAttempt.objects.filter(invitation__candidate=candidate)
        .exclude(outcome=LineLoginAttempt.Outcome.PENDING)
        .order_by("-created_at")[:5]
    ]
    conflicts = list(open_conflicts(candidate))
    resend_url = _resend_url(candidate)
    resend_blocked = ""
    if account is not None:
        resend_blocked = "LINE友達登録済みのため、友達登録URLを送る必要はありません。"
    elif not linked:
        resend_blocked = "LINE連携が「連携中」ではないため、友達登録URLを送れません。"
    elif not candidate.email:
        resend_blocked = "メールアドレスが登録されていないため、友達登録URLを送れません。"
    return render(
        request,
        "line_integration/candidate/line_tab.html",
        {
            **context,
            "account": account,
            "integration": integration,
            "line_linked": linked,
            "invitations": invitations,
            "attempts": attempts,
            "conflicts": conflicts,
            "resend_url": resend_url,
            "resend_blocked": resend_blocked,
        },
    )


def _invitation_status(invitation: FriendInvitation, now: datetime) -> tuple[str, str]:
    if invitation.used_at is not None:
        return "使用済み", "success"
    if invitation.expires_at <= now:
        return "期限切れ", "secondary"
    return "有効", "primary"
