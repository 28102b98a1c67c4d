"""Who may receive what, decided in the pipeline (never in templates or forms).

LINE is refused for automatic kinds (no LINE delivery is ever created), for agent recipients,
for candidates who are not LINE friends or have blocked the account, and when the company is
not 連携中. The last three are re-checked by the worker right before each push, so a scheduled
send honours the state at the moment it goes out.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from hrmos.models import Company
from hrmos.tenancy import company_pk
from line_integration.models import LineAccount, LineIntegration
from messaging.models import AUTOMATIC_KINDS, RecipientKind

REASON_AGENT = "エージェント宛てのためLINEには送信しません"
REASON_NOT_FRIEND = "LINE友達ではありません"
REASON_BLOCKED = "ブロックされています"
REASON_UNLINKED = "LINE連携が解除されています"
REASON_QUOTA = "今月のメッセージ上限に達しました"
REASON_CANDIDATE_DELETED = "候補者が削除されたため送信しませんでした"
REASON_NO_EMAIL = "メールアドレスが登録されていません"
REASON_NO_AGENT = "エージェントが設定されていません"
REASON_NO_AGENT_EMAIL = "エージェントのメールアドレスが登録されていません"
REASON_CANCELLED = "送信予約がキャンセルされました"
REASON_LINE_AUTH = "LINEの認証に失敗しました。LINE設定で連携をやり直してください。"
REASON_UNEXPECTED = "送信処理中に予期しないエラーが発生しました（詳細はシステムログに記録しました）"


def line_allowed_for_kind(kind: str) -> bool:
    return kind not in AUTOMATIC_KINDS


def integration_for(company: Company | int) -> LineIntegration | None:
    return LineIntegration.objects.for_company_or_none(company)


def is_linked(company: Company | int) -> bool:
    return LineIntegration.objects.filter(company_id=company_pk(company), status=LineIntegration.Status.LINKED).exists()


def line_accounts_by_candidate(company_id: int, candidate_ids: Iterable[int] | QuerySet) -> dict[int, tuple[str, str]]:
    """candidate id → (LINE userId, friend state) for the given candidates that have one
    (`candidate_ids` may be a `values("pk")` subquery, for sends to thousands)."""
    if not isinstance(candidate_ids, QuerySet):
        candidate_ids = list(candidate_ids)
    return {
        candidate_id: (user_id, state)
        for candidate_id, user_id, state in LineAccount.objects.filter(
            company_id=company_id, candidate_id__in=candidate_ids
        ).values_list("candidate_id", "line_user_id", "friend_state")
    }


def line_target(account: tuple[str, str] | None, *, recipient_kind: str, linked: bool) -> tuple[str, str]:
    """(LINE userId, "") when a push may go, else ("", the reason it may not)."""
    if recipient_kind == RecipientKind.AGENT:
        return "", REASON_AGENT
    if not linked:
        return "", REASON_UNLINKED
    if account is None:
        return "", REASON_NOT_FRIEND
    user_id, state = account
    if state == LineAccount.FriendState.BLOCKED:
        return "", REASON_BLOCKED
    if state != LineAccount.FriendState.FRIEND or not user_id:
        return "", REASON_NOT_FRIEND
    return user_id, ""


def line_unavailable_reason(company: Company, candidate_id: int) -> str:
    """Why the LINE tab's send box is disabled for this candidate ("" when it is enabled)."""
    accounts = line_accounts_by_candidate(company.pk, [candidate_id])
    _, reason = line_target(
        accounts.get(candidate_id), recipient_kind=RecipientKind.CANDIDATE, linked=is_linked(company)
    )
    return reason
