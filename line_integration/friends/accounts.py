"""Storing a friend registration: the end of LINE Login's callback
(`friend_registration.handle_callback`), once the LINE user is verified.

ONE transaction ties the LINE user to the invitation's candidate: the invitation is marked used
with a conditional update (single use, even against a concurrent callback), the `LineAccount`
is created and the attempt records the outcome. The refusals around it are recorded where the
recruiter sees them:

- already registered: the candidate has a LINE account already (the seed's rule: the candidate
  sees the completion page, even from an old or second link);
- conflict: the LINE user belongs to another candidate of the same company: refused, kept on the
  attempt (both candidates' LINE tabs show it) and in the audit log;
- invitation used: a concurrent callback for the same link won; integrity: a unique constraint
  refused the row for a reason not seen before it.

After the commit, what arrived before the link is applied: follow/unfollow
(`follows.reconcile_account`) and messages (`queue.reconcile_user`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db import IntegrityError, transaction

from candidates.models import Candidate
from hrmos.audit import log_action
from line_integration.api import login
from line_integration.friends import invitations
from line_integration.models import LineAccount, LineLoginAttempt
from line_integration.processing import follows, queue, tasks

logger = logging.getLogger(__name__)


class Linking(StrEnum):
    LINKED = "linked"
    ALREADY_REGISTERED = "already_registered"
    CONFLICT = "conflict"
    INVITATION_USED = "invitation_used"
    INTEGRITY = "integrity"


@dataclass(frozen=True)
class Linked:
    outcome: Linking
    account: LineAccount | None = None  # when LINKED: with its friend state after reconciling


def record_outcome(attempt: LineLoginAttempt, outcome: str, reason: str = "", **fields: object) -> None:
    """Store the attempt's outcome (and the instance's copy)."""
    LineLoginAttempt.objects.filter(pk=attempt.pk).update(outcome=outcome, failure_reason=reason[:64], **fields)
    attempt.outcome, attempt.failure_reason = outcome, reason[:64]
    for name, value in fields.items():
        setattr(attempt, name, value)


class _Conflict(Exception):
    def __init__(self, holder: Candidate) -> None:
        self.holder = holder


class _AlreadyRegistered(Exception):
    pass


class _InvitationGone(Exception):
    pass


def link_candidate(
    attempt: LineLoginAttempt,
    profile: login.Profile,
    *,
    friend_state: str,
    checked_at: datetime | None,
    now: datetime,
) -> Linked:
    """Tie `profile`'s LINE user to the attempt's candidate, or record why not."""
    invitation = attempt.invitation
    candidate = invitation.candidate
    company = invitation.company
    try:
        with transaction.atomic():
            if LineAccount.objects.filter(candidate=candidate).exists():
                raise _AlreadyRegistered
            holder = (
                LineAccount.objects.filter(company=company, line_user_id=profile.user_id)
                .select_related("candidate")
                .first()
            )
            if holder is not None:
                raise _Conflict(holder.candidate)
            if not invitations.mark_used(invitation, now=now, valid_at=attempt.created_at):
                raise _InvitationGone
            account = LineAccount.objects.create(
                company=company,
                candidate=candidate,
                line_user_id=profile.user_id,
                display_name=profile.display_name[:100],
                picture_url=profile.picture_url[:500],
                friend_state=friend_state,
                state_changed_at=checked_at,
            )
            record_outcome(attempt, LineLoginAttempt.Outcome.LINKED, line_user_id=profile.user_id)
            log_action(
                company,
                None,
                "line_friend.registered",
                f"{candidate.name}さんがLINE友達登録を行いました（LINE表示名：{account.display_name or '未設定'}）",
                candidate_id=candidate.pk,
                friend_state=friend_state,
            )
    except _AlreadyRegistered:
        return _already_registered(attempt)
    except _Conflict as conflict:
        return _conflict(attempt, profile.user_id, conflict.holder)
    except _InvitationGone:
        # A concurrent callback for the same link won the conditional update (we waited on
        # its row lock): if it linked this candidate, this is simply "already registered".
        if LineAccount.objects.filter(candidate=candidate).exists():
            return _already_registered(attempt)
        return Linked(Linking.INVITATION_USED)
    except IntegrityError:
        # A concurrent callback linked this candidate, or this LINE user, first.
        if LineAccount.objects.filter(candidate=candidate).exists():
            return _already_registered(attempt)
        holder = LineAccount.objects.filter(company=company, line_user_id=profile.user_id).first()
        if holder is not None:
            return _conflict(attempt, profile.user_id, holder.candidate)
        return Linked(Linking.INTEGRITY)

    logger.info("Friend registration: candidate %s linked (%s), attempt %s", candidate.pk, friend_state, attempt.pk)
    _apply_what_came_before(account)
    account.refresh_from_db(fields=["friend_state", "state_changed_at"])
    return Linked(Linking.LINKED, account)


def _already_registered(attempt: LineLoginAttempt) -> Linked:
    record_outcome(attempt, LineLoginAttempt.Outcome.ALREADY_REGISTERED)
    logger.info("Friend registration attempt %s: candidate already registered", attempt.pk)
    return Linked(Linking.ALREADY_REGISTERED)


def _conflict(attempt: LineLoginAttempt, user_id: str, holder: Candidate) -> Linked:
    candidate = attempt.invitation.candidate
    record_outcome(
        attempt,
        LineLoginAttempt.Outcome.CONFLICT,
        "line_user_taken",
        line_user_id=user_id,
        conflicting_candidate=holder,
    )
    log_action(
        attempt.invitation.company,
        None,
        "line_friend.conflict",
        f"{candidate.name}さんのLINE友達登録を受け付けませんでした：そのLINEアカウントは{holder.name}さんに登録済みです",
        candidate_id=candidate.pk,
        registered_candidate_id=holder.pk,
        attempt_id=attempt.pk,
    )
    logger.warning(
        "Friend registration attempt %s: LINE user already linked to candidate %s (not %s)",
        attempt.pk,
        holder.pk,
        candidate.pk,
    )
    return Linked(Linking.CONFLICT)


def _apply_what_came_before(account: LineAccount) -> None:
    """Apply what arrived before the link, now that the account is committed (reconcile_user
    relies on that). Best effort: the link itself is committed, and a follow/unfollow arriving
    later is applied by its own handler anyway."""
    try:
        follows.reconcile_account(account)
    except Exception:
        logger.exception("Friend registration: reconciling friend state of account %s failed", account.pk)
    try:
        if queue.reconcile_user(account.company_id, account.line_user_id):
            tasks.wake_on_commit(account.company_id)
    except Exception:
        logger.exception("Friend registration: reconciling stored events of account %s failed", account.pk)
