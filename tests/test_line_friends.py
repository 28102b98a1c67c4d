"""Friend state from follow / unfollow events (`line_integration.friends`), through the
receiving side's handler dict, and the reconciliation of events stored before the link."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from line_integration.models import LineAccount, LineWebhookEvent
from line_integration.processing import follows as friends
from line_integration.processing import queue as events
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db

USER = "U" + "a" * 32
_ids = itertools.count(1)


def stored(company, event_type: str, at, user_id: str = USER, **extra) -> LineWebhookEvent:
    """A follow/unfollow as the webhook stores it."""
    payload = {
        "type": event_type,
        "timestamp": int(at.timestamp() * 1000),
        "source": {"type": "user", "userId": user_id},
        "mode": "active",
        "webhookEventId": f"01TEST{next(_ids):020d}",
        "deliveryContext": {"isRedelivery": False},
        **extra,
    }
    return LineWebhookEvent.objects.create(
        company=company,
        webhook_event_id=payload["webhookEventId"],
        event_type=event_type,
        source_type="user",
        source_user_id=user_id,
        timestamp=at,
        mode="active",
        payload=payload,
        received_at=timezone.now(),
    )


def account_for(candidate, state=LineAccount.FriendState.NOT_FRIEND, at=None, user_id: str = USER) -> LineAccount:
    return LineAccount.objects.create(
        company_id=candidate.company_id,
        candidate=candidate,
        line_user_id=user_id,
        display_name="山田 花子",
        friend_state=state,
        state_changed_at=at,
    )


def process(event: LineWebhookEvent) -> str:
    events.process_event(event.pk)
    event.refresh_from_db()
    return event.outcome


def test_a_follow_makes_the_candidate_a_friend(company, candidate):
    now = timezone.now()
    account = account_for(candidate, at=now - timedelta(minutes=1))

    assert process(stored(company, "follow", now, follow={"isUnblocked": False})) == "friend"

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND
    assert account.state_changed_at == now


def test_an_unfollow_marks_the_candidate_blocked(company, candidate):
    now = timezone.now()
    account = account_for(candidate, LineAccount.FriendState.FRIEND, at=now - timedelta(minutes=1))

    assert process(stored(company, "unfollow", now)) == "blocked"

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.BLOCKED


def test_a_follow_after_unblocking_makes_the_candidate_a_friend_again(company, candidate):
    now = timezone.now()
    account = account_for(candidate, LineAccount.FriendState.BLOCKED, at=now - timedelta(minutes=1))

    assert process(stored(company, "follow", now, follow={"isUnblocked": True})) == "friend"

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND


def test_an_older_event_never_overwrites_a_newer_state(company, candidate):
    now = timezone.now()
    account = account_for(candidate, LineAccount.FriendState.FRIEND, at=now)

    assert process(stored(company, "unfollow", now - timedelta(seconds=5))) == "stale"

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND
    assert account.state_changed_at == now


def test_events_arriving_out_of_order_end_in_the_newest_state(company, candidate):
    now = timezone.now()
    account = account_for(candidate, at=now - timedelta(minutes=5))
    follow = stored(company, "follow", now - timedelta(minutes=2), follow={"isUnblocked": False})
    unfollow = stored(company, "unfollow", now - timedelta(minutes=1))

    assert friends.handle_unfollow(unfollow) == "blocked"
    assert friends.handle_follow(follow) == "stale"

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.BLOCKED


def test_a_redelivered_event_changes_nothing_the_second_time(company, candidate):
    now = timezone.now()
    account = account_for(candidate, at=now - timedelta(minutes=1))
    event = stored(company, "follow", now, follow={"isUnblocked": False})

    friends.handle_follow(event)
    friends.handle_follow(event)

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND
    assert account.state_changed_at == now


def test_an_event_in_the_same_millisecond_as_the_state_is_applied(company, candidate):
    """LINE's timestamps are whole milliseconds; our states are microseconds."""
    event_time = timezone.now().replace(microsecond=123000)
    account_for(candidate, LineAccount.FriendState.FRIEND, at=event_time.replace(microsecond=123456))

    assert friends.handle_unfollow(stored(company, "unfollow", event_time)) == "blocked"


def test_an_event_one_millisecond_older_than_the_state_is_stale(company, candidate):
    event_time = timezone.now().replace(microsecond=122000)
    account_for(candidate, LineAccount.FriendState.FRIEND, at=event_time.replace(microsecond=123000))

    assert friends.handle_unfollow(stored(company, "unfollow", event_time)) == "stale"


def test_a_follow_from_a_user_no_candidate_has_is_kept_for_later(company):
    event = stored(company, "follow", timezone.now(), follow={"isUnblocked": False})

    assert process(event) == "unlinked"

    assert not LineAccount.objects.exists()
    assert LineWebhookEvent.objects.filter(pk=event.pk).exists()


def test_an_event_for_another_company_never_touches_this_companys_candidate(company, other_company, candidate):
    now = timezone.now()
    account = account_for(candidate, at=now - timedelta(minutes=1))

    assert process(stored(other_company, "unfollow", now)) == "unlinked"

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.NOT_FRIEND


# --- reconciliation at link time ---------------------------------------------------------------


def test_reconcile_applies_a_follow_that_arrived_while_the_candidate_was_linking(company, candidate):
    checked = timezone.now()
    event = stored(company, "follow", checked + timedelta(seconds=1), follow={"isUnblocked": False})
    assert process(event) == "unlinked"  # processed just before the account was committed
    account = account_for(candidate, LineAccount.FriendState.NOT_FRIEND, at=checked)

    assert friends.reconcile_account(account) == "friend"

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND


def test_reconcile_ignores_events_older_than_the_friendship_check(company, candidate):
    checked = timezone.now()
    stored(company, "unfollow", checked - timedelta(days=1))
    account = account_for(candidate, LineAccount.FriendState.FRIEND, at=checked)

    assert friends.reconcile_account(account) is None

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND


def test_reconcile_takes_the_newest_stored_event(company, candidate):
    now = timezone.now()
    stored(company, "follow", now - timedelta(minutes=3), follow={"isUnblocked": False})
    stored(company, "unfollow", now - timedelta(minutes=2))
    stored(company, "follow", now - timedelta(minutes=1), follow={"isUnblocked": True})
    account = account_for(candidate, LineAccount.FriendState.NOT_FRIEND, at=None)

    assert friends.reconcile_account(account) == "friend"

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND
    assert account.state_changed_at == now - timedelta(minutes=1)


def test_reconcile_reads_only_this_companys_events(company, other_company, candidate):
    now = timezone.now()
    stored(other_company, "follow", now, follow={"isUnblocked": False})
    account = account_for(candidate, LineAccount.FriendState.NOT_FRIEND, at=None)

    assert friends.reconcile_account(account) is None


def test_blocked_candidates_are_skipped_by_line_sends(company, candidate):
    from messaging import rules

    account_for(candidate, LineAccount.FriendState.BLOCKED, at=timezone.now())
    accounts = rules.line_accounts_by_candidate(company.pk, [candidate.pk])

    address, reason = rules.line_target(accounts.get(candidate.pk), recipient_kind="candidate", linked=True)

    assert address == "" and reason == rules.REASON_BLOCKED


def test_deleting_the_candidate_deletes_the_line_account(company, candidate):
    account_for(candidate, LineAccount.FriendState.FRIEND, at=timezone.now())
    other = make_candidate(company, email="keep@example.com")
    account_for(other, LineAccount.FriendState.FRIEND, at=timezone.now(), user_id="U" + "b" * 32)

    candidate.delete()

    assert list(LineAccount.objects.values_list("candidate", flat=True)) == [other.pk]
