"""Friend registration (友達登録): from a candidate's invitation link through LINE Login to a
stored `LineAccount` (docs/architecture.md "How data walks through"; the promises in
docs/reliability.md "Friend registration").

1. `examine(invitation)` decides what the link shows: the landing page, the completion page
   (the candidate is already registered: the seed's rule, even from an old or second link),
   the expired page, the invalid page (no such link), or "unavailable" (the company is not 連携中).
2. `start_attempt(invitation)` creates a `LineLoginAttempt` (state hashed, nonce, PKCE verifier
   encrypted, 10 minutes) and returns LINE's authorize URL.
3. `handle_callback(company, params, …)` takes LINE's redirect for the company in the URL only:
   it claims the attempt once (a conditional update: a replayed callback fails), handles
   LINE's error redirect, exchanges the code, verifies the ID token, reads the profile and the
   friendship status, then links the candidate (`accounts.link_candidate`: ONE
   transaction; a userId already tied to another candidate of the company is refused and
   recorded as a conflict; what arrived before the link is applied after the commit).

Nothing is stored on a failure except the attempt's own outcome. Logs name the company,
candidate and attempt ids and the failure code; never a token, code, state or secret.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from candidates.models import Candidate
from hrmos.fields import FieldDecryptionError
from hrmos.models import Company
from line_integration.api import login
from line_integration.api.login import LoginError
from line_integration.friends import accounts
from line_integration.friends.accounts import Linking, record_outcome
from line_integration.models import (
    FriendInvitation,
    LineAccount,
    LineIntegration,
    LineLoginAttempt,
    callback_url,
)

logger = logging.getLogger(__name__)

FAILURE_MESSAGE = "LINE友達登録を完了できませんでした。再度お試しください。"
CONFLICT_MESSAGE = (
    "このLINEアカウントは、すでに別の方の登録に使われているため、友達登録を完了できませんでした。"
    "お手数ですが、ご自身のLINEアカウントでログインしているかご確認のうえ、企業の採用担当者にお問い合わせください。"
)
ATTEMPT_LIFETIME = timedelta(minutes=LineLoginAttempt.LIFETIME_MINUTES)
STATE_RE = re.compile(r"[0-9a-f]{64}")
ERROR_CODE_RE = re.compile(r"[A-Za-z_]{1,40}")
SESSION_KEY = "line_friend_states"  # hashes of the states this browser started, newest last
SESSION_KEEP = 5


# --- the invitation link -------------------------------------------------------------------


class LinkState(StrEnum):
    LANDING = "landing"  # explain, then 「LINEでログイン」
    COMPLETED = "completed"  # the candidate already has a LINE account here
    EXPIRED = "expired"  # expired or used link
    INVALID = "invalid"  # no such link (mistyped, cut short by a mail client)
    UNAVAILABLE = "unavailable"  # the company's LINE link is not 連携中


@dataclass(frozen=True)
class LinkView:
    state: LinkState
    invitation: FriendInvitation | None = None
    account: LineAccount | None = None
    integration: LineIntegration | None = None

    @property
    def company(self) -> Company | None:
        return self.invitation.company if self.invitation else None


def _account_of(candidate: Candidate) -> LineAccount | None:
    return LineAccount.objects.filter(candidate=candidate).first()


def _usable_integration(company_id: int) -> LineIntegration | None:
    integration = LineIntegration.objects.for_company_or_none(company_id)
    if integration is None or not integration.is_linked or not integration.login_channel_id:
        return None
    return integration


def examine(invitation: FriendInvitation | None, *, now: datetime | None = None) -> LinkView:
    """What an invitation link leads to right now."""
    now = now or timezone.now()
    if invitation is None:
        return LinkView(LinkState.INVALID)
    if invitation.company_id != invitation.candidate.company_id:  # never issued so; refuse if it were
        logger.error("Friend invitation %s: candidate of another company", invitation.pk)
        return LinkView(LinkState.INVALID)
    account = _account_of(invitation.candidate)
    if account is not None:
        return LinkView(LinkState.COMPLETED, invitation, account)
    if not invitation.is_valid_at(now):
        return LinkView(LinkState.EXPIRED, invitation)
    integration = _usable_integration(invitation.company_id)
    if integration is None:
        return LinkView(LinkState.UNAVAILABLE, invitation)
    return LinkView(LinkState.LANDING, invitation, integration=integration)


# --- starting a login ----------------------------------------------------------------------


class StartRefused(Exception):
    """The link cannot start a login (any more): show `view` instead."""

    def __init__(self, view: LinkView) -> None:
        super().__init__(view.state)
        self.view = view


@dataclass(frozen=True)
class Started:
    attempt: LineLoginAttempt
    authorize_url: str
    state_hash: str  # for the browser's session; the raw state goes only to LINE


@sensitive_variables("state", "verifier")
def start_attempt(invitation: FriendInvitation, *, now: datetime | None = None) -> Started:
    """Create the server-side half of a LINE Login for this invitation and return where to go."""
    now = now or timezone.now()
    view = examine(invitation, now=now)
    if view.state != LinkState.LANDING or view.integration is None:
        raise StartRefused(view)
    state, nonce, verifier = login.new_state(), login.new_nonce(), login.new_code_verifier()
    attempt = LineLoginAttempt.objects.create(
        company_id=invitation.company_id,
        invitation=invitation,
        state_hash=login.hash_state(state),
        nonce=nonce,
        code_verifier=verifier,
        created_at=now,
        expires_at=now + ATTEMPT_LIFETIME,
    )
    url = login.authorize_url(
        channel_id=view.integration.login_channel_id,
        redirect_uri=callback_url(invitation.company),
        state=state,
        nonce=nonce,
        code_challenge=login.code_challenge(verifier),
    )
    logger.info("Friend registration: attempt %s started for candidate %s", attempt.pk, invitation.candidate_id)
    return Started(attempt=attempt, authorize_url=url, state_hash=attempt.state_hash)


def remember_state(session: dict, state_hash: str) -> None:
    """Keep the started state's hash in the browser's session (SameSite=Lax survives LINE's redirect)."""
    kept = [h for h in session.get(SESSION_KEY, []) if isinstance(h, str)][-(SESSION_KEEP - 1) :]
    session[SESSION_KEY] = [*kept, state_hash]


def remembered_states(session: Mapping) -> list[str]:
    value = session.get(SESSION_KEY, [])
    return [h for h in value if isinstance(h, str)] if isinstance(value, list) else []


# --- the callback --------------------------------------------------------------------------


class Outcome(StrEnum):
    FRIEND = "friend"  # linked, and a friend of the OA: completion page
    NOT_FRIEND = "not_friend"  # linked, but did not add (or blocked) the OA: add-friend page
    ALREADY_REGISTERED = "already_registered"  # the candidate was linked before: completion page
    CONFLICT = "conflict"  # the LINE user belongs to another candidate of the company
    FAILED = "failed"


@dataclass(frozen=True)
class CallbackResult:
    outcome: Outcome
    attempt: LineLoginAttempt | None = None
    reason: str = ""  # the failure code, as stored on the attempt

    @property
    def can_retry(self) -> bool:
        """Whether the failure page may offer 「もう一度試す」 (a new login for the same link)."""
        if self.attempt is None or self.outcome not in (Outcome.FAILED, Outcome.CONFLICT):
            return False
        return examine(self.attempt.invitation).state == LinkState.LANDING


def _failed(attempt: LineLoginAttempt | None, reason: str, *, company: Company, record: bool = True) -> CallbackResult:
    if attempt is not None and record:
        record_outcome(attempt, LineLoginAttempt.Outcome.FAILED, reason)
    logger.info(
        "Friend registration failed for company %s, attempt %s: %s",
        company.pk,
        attempt.pk if attempt else "-",
        reason,
    )
    return CallbackResult(Outcome.FAILED, attempt, reason)


def _claim(attempt: LineLoginAttempt, *, now: datetime, session_matched: bool | None) -> bool:
    """Use the attempt once: only one callback (of any replays racing) gets past this. The
    verifier is dropped from the row as it is claimed; this callback holds it in memory."""
    claimed = LineLoginAttempt.objects.filter(pk=attempt.pk, used_at__isnull=True).update(
        used_at=now, session_matched=session_matched, code_verifier=""
    )
    if claimed:
        attempt.used_at, attempt.session_matched = now, session_matched
    return bool(claimed)


@sensitive_variables("params", "code", "tokens", "state")
def handle_callback(
    company: Company,
    params: Mapping[str, str],
    *,
    session_state_hashes: Sequence[str] = (),
    now: datetime | None = None,
) -> CallbackResult:
    """LINE's redirect back to `/line/callback/<company.public_id>/`: the code or LINE's error,
    then the token exchange, the ID token, the profile and the friendship status."""
    now = now or timezone.now()
    state = params.get("state", "")
    if not STATE_RE.fullmatch(state):
        return _failed(None, "state_missing", company=company)
    state_hash = login.hash_state(state)
    # Only this company's attempts: another company's callback URL never finds them.
    attempt = (
        LineLoginAttempt.objects.select_related("invitation__candidate", "invitation__company")
        .filter(company=company, state_hash=state_hash)
        .first()
    )
    if attempt is None:
        return _failed(None, "state_unknown", company=company)

    # The session is a second check, not a requirement: a callback finishing in another browser
    # (mail app → LINE app → default browser) has none, and the attempt row carries the binding.
    # A session that started other logins but not this one is refused.
    matched = any(hmac.compare_digest(h, state_hash) for h in session_state_hashes)
    if not _claim(attempt, now=now, session_matched=matched if session_state_hashes else None):
        return _failed(attempt, "attempt_used", company=company, record=False)
    if attempt.expires_at <= now:
        return _failed(attempt, "attempt_expired", company=company)
    if session_state_hashes and not matched:
        return _failed(attempt, "session_mismatch", company=company)

    error = params.get("error", "")
    if error:
        # ACCESS_DENIED (the candidate cancelled) and friends; LINE's docs use both cases.
        code = error.lower() if ERROR_CODE_RE.fullmatch(error) else "unknown"
        return _failed(attempt, f"line_error:{code}", company=company)
    code = params.get("code", "")
    if not code or len(code) > 512:
        return _failed(attempt, "code_missing", company=company)

    integration = _usable_integration(company.pk)
    if integration is None:
        return _failed(attempt, "not_linked", company=company)
    try:
        secret = integration.login_channel_secret
    except FieldDecryptionError:
        return _failed(attempt, "secret_unreadable", company=company)

    try:
        tokens = login.exchange_code(
            code=code,
            redirect_uri=callback_url(company),
            channel_id=integration.login_channel_id,
            channel_secret=secret,
            code_verifier=attempt.code_verifier,
        )
        claims = login.verify_id_token(
            tokens.id_token, channel_id=integration.login_channel_id, channel_secret=secret, nonce=attempt.nonce
        )
    except LoginError as exc:
        return _failed(attempt, exc.code, company=company)

    profile = _profile(tokens.access_token, claims, attempt)
    if profile.user_id != claims.user_id:
        return _failed(attempt, "profile:user_mismatch", company=company)
    friend_state, checked_at = _friendship(tokens.access_token, params, attempt)
    if friend_state == LineAccount.FriendState.FRIEND or "friendship_status_changed" in params:
        LineLoginAttempt.objects.filter(pk=attempt.pk).update(linked_oa_seen=True)
    return _link(attempt, profile, friend_state=friend_state, checked_at=checked_at, now=now)


def _profile(access_token: str, claims: login.IdTokenClaims, attempt: LineLoginAttempt) -> login.Profile:
    """The profile; if LINE cannot give it now, the same name and picture from the verified ID
    token (the `profile` scope puts them there) rather than failing a login that succeeded."""
    try:
        return login.get_profile(access_token)
    except LoginError as exc:
        logger.warning("Friend registration attempt %s: %s; using the ID token's name", attempt.pk, exc.code)
        return login.Profile(user_id=claims.user_id, display_name=claims.name, picture_url=claims.picture)


def _friendship(access_token: str, params: Mapping[str, str], attempt: LineLoginAttempt) -> tuple[str, datetime | None]:
    """The friend state and when it was true. The friendship API is authoritative; if it fails,
    `friendship_status_changed=true` still says the candidate just added us, and otherwise the
    follow webhook (stored or still to come) settles it."""
    checked_at = timezone.now()
    try:
        is_friend = login.get_friendship(access_token)
    except LoginError as exc:
        logger.warning("Friend registration attempt %s: %s", attempt.pk, exc.code)
        is_friend = params.get("friendship_status_changed", "").lower() == "true"
        if not is_friend:
            # Unknown, not "not a friend": no time, so any stored follow/unfollow of this user decides.
            return LineAccount.FriendState.NOT_FRIEND, None
    return (LineAccount.FriendState.FRIEND if is_friend else LineAccount.FriendState.NOT_FRIEND), checked_at


def _link(
    attempt: LineLoginAttempt,
    profile: login.Profile,
    *,
    friend_state: str,
    checked_at: datetime | None,
    now: datetime,
) -> CallbackResult:
    linked = accounts.link_candidate(attempt, profile, friend_state=friend_state, checked_at=checked_at, now=now)
    if linked.outcome == Linking.ALREADY_REGISTERED:
        return CallbackResult(Outcome.ALREADY_REGISTERED, attempt)
    if linked.outcome == Linking.CONFLICT:
        return CallbackResult(Outcome.CONFLICT, attempt, "line_user_taken")
    if linked.account is None:  # the invitation was used meanwhile, or an integrity refusal
        return _failed(attempt, linked.outcome.value, company=attempt.invitation.company)
    is_friend = linked.account.friend_state == LineAccount.FriendState.FRIEND
    return CallbackResult(Outcome.FRIEND if is_friend else Outcome.NOT_FRIEND, attempt)


# --- what the candidate sees afterwards ----------------------------------------------------


@dataclass(frozen=True)
class ResultView:
    is_friend: bool
    company: Company
    account: LineAccount
    add_friend_url: str


def result_for(attempt_public_id: UUID) -> ResultView | None:
    """The result page of a finished login: completion, or the add-friend button while the
    candidate is not (yet) a friend. Its state is read live, so a reload after adding the OA
    shows the completion."""
    attempt = (
        LineLoginAttempt.objects.select_related("invitation__candidate", "company")
        .filter(
            public_id=attempt_public_id,
            outcome__in=[LineLoginAttempt.Outcome.LINKED, LineLoginAttempt.Outcome.ALREADY_REGISTERED],
        )
        .first()
    )
    if attempt is None:
        return None
    account = _account_of(attempt.invitation.candidate)
    if account is None:
        return None
    return completion_view(account)


def completion_view(account: LineAccount) -> ResultView:
    integration = LineIntegration.objects.for_company_or_none(account.company_id)
    return ResultView(
        is_friend=account.friend_state == LineAccount.FriendState.FRIEND,
        company=account.company,
        account=account,
        add_friend_url=integration.add_friend_url if integration and integration.is_linked else "",
    )


def attempt_for_retry(attempt_public_id: UUID) -> LineLoginAttempt | None:
    return (
        LineLoginAttempt.objects.select_related("invitation__candidate", "invitation__company")
        .filter(public_id=attempt_public_id)
        .first()
    )
