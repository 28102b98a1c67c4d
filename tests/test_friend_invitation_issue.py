"""Issuing friend-registration links (the send side of friend registration): one-week links, stored hashed,
found by token, single use."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from line_integration.friends.invitations import VALIDITY, find_invitation, issue_invitation, mark_used
from line_integration.models import FriendInvitation

pytestmark = pytest.mark.django_db


def test_the_url_carries_a_random_token_and_only_its_hash_is_stored(candidate, settings):
    settings.SITE_URL = "https://ats.example.com"
    now = timezone.now()
    url = issue_invitation(candidate, now=now)
    assert url.startswith("https://ats.example.com/line/friend/") and url.endswith("/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 40
    invitation = FriendInvitation.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(FriendInvitation.objects.values().get())
    assert (invitation.company_id, invitation.candidate_id) == (candidate.company_id, candidate.pk)
    assert invitation.expires_at == now + VALIDITY == now + timedelta(days=7)


def test_each_issue_is_a_different_link(candidate):
    assert issue_invitation(candidate, now=timezone.now()) != issue_invitation(candidate, now=timezone.now())


def test_found_by_token_and_used_once(candidate):
    url = issue_invitation(candidate, now=timezone.now())
    token = url.rstrip("/").rsplit("/", 1)[1]
    invitation = find_invitation(token)
    assert invitation is not None and invitation.candidate == candidate
    assert invitation.is_valid_at(timezone.now())
    assert not invitation.is_valid_at(invitation.expires_at + timedelta(seconds=1))
    assert mark_used(invitation, now=timezone.now())
    assert not mark_used(invitation, now=timezone.now())
    assert find_invitation("not-a-token") is None
