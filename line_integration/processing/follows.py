"""A candidate's LINE friend state, kept in step with follow / unfollow webhooks.

The receiving side stores every webhook event and dispatches it through its handler dict;
`handle_follow(event)` and `handle_unfollow(event)` are the entries for `follow` and
`unfollow`. Each returns a short outcome word for the stored event:

- "friend" / "blocked": the candidate's `LineAccount` took that state;
- "stale": the account already holds a state from a newer moment (events may arrive out of
  order, and a redelivery may come late), so nothing changed;
- "unlinked": no candidate of this company has that LINE userId yet. The event stays stored
  and is applied when the candidate links (`reconcile_account`), because the follow of LINE
  Login's add-friend screen can reach us before the OAuth callback does.

Ordering is by LINE's event timestamp against `LineAccount.state_changed_at`, in one
conditional UPDATE, so an older event never overwrites a newer state whichever process wins.
A follow (new or `isUnblocked`) means friend; an unfollow means the user blocked the OA.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q

from line_integration.models import LineAccount, LineWebhookEvent

logger = logging.getLogger(__name__)

FOLLOW = "follow"
UNFOLLOW = "unfollow"
STATE_FOR_EVENT = {FOLLOW: LineAccount.FriendState.FRIEND, UNFOLLOW: LineAccount.FriendState.BLOCKED}

TIMESTAMP_RESOLUTION = timedelta(milliseconds=1)

FRIEND = "friend"
BLOCKED = "blocked"
STALE = "stale"
UNLINKED = "unlinked"


# --- reading a stored event -----------------------------------------------------------------


def _event_user_id(event: LineWebhookEvent) -> str:
    if event.source_user_id:
        return event.source_user_id
    source = (event.payload or {}).get("source") or {}
    return source.get("userId", "") if source.get("type", "user") == "user" else ""


# --- applying a state ----------------------------------------------------------------------


def apply_state(company_id: int, line_user_id: str, state: str, at: datetime) -> str:
    """Set the friend state of the company's account for this userId if `at` is newer than the
    state it holds. Returns "friend"/"blocked", "stale" or "unlinked"."""
    accounts = LineAccount.objects.filter(company_id=company_id, line_user_id=line_user_id)
    # LINE's timestamps are whole milliseconds: a state recorded within the event's millisecond
    # is not known to be newer, and the tie goes to the event (it reports an actual change).
    not_newer = Q(state_changed_at__isnull=True) | Q(state_changed_at__lt=at + TIMESTAMP_RESOLUTION)
    updated = accounts.filter(not_newer).update(friend_state=state, state_changed_at=at)
    if updated:
        return FRIEND if state == LineAccount.FriendState.FRIEND else BLOCKED
    return STALE if accounts.exists() else UNLINKED


def _handle(event: LineWebhookEvent, event_type: str) -> str:
    user_id = _event_user_id(event)
    if not user_id:
        return UNLINKED  # a group/room source has no user to befriend
    outcome = apply_state(event.company_id, user_id, STATE_FOR_EVENT[event_type], event.timestamp)
    logger.info("LINE %s for company %s: %s", event_type, event.company_id, outcome)
    return outcome


def handle_follow(event: LineWebhookEvent) -> str:
    """A stored `follow` event (a new friend, or `follow.isUnblocked`): the candidate is a friend."""
    return _handle(event, FOLLOW)


def handle_unfollow(event: LineWebhookEvent) -> str:
    """A stored `unfollow` event: the candidate blocked the Official Account."""
    return _handle(event, UNFOLLOW)


# --- at link time --------------------------------------------------------------------------


def latest_stored_event(company_id: int, line_user_id: str, after: datetime | None) -> tuple[str, datetime] | None:
    """The newest stored follow/unfollow for this userId that happened after `after`, as
    (event type, event time); None when there is none."""
    queryset = LineWebhookEvent.objects.filter(
        company_id=company_id, source_user_id=line_user_id, event_type__in=[FOLLOW, UNFOLLOW]
    )
    if after is not None:
        queryset = queryset.filter(timestamp__gt=after - TIMESTAMP_RESOLUTION)  # as apply_state judges
    event = queryset.order_by("-timestamp", "-pk").first()
    if event is None:
        return None
    return event.event_type, event.timestamp


def reconcile_account(account: LineAccount) -> str | None:
    """Apply the newest follow/unfollow that arrived for this userId before (or while) the
    candidate linked and that is newer than the state the account holds. Returns the outcome,
    or None when there was nothing newer."""
    found = latest_stored_event(account.company_id, account.line_user_id, account.state_changed_at)
    if found is None:
        return None
    event_type, at = found
    return apply_state(account.company_id, account.line_user_id, STATE_FOR_EVENT[event_type], at)
