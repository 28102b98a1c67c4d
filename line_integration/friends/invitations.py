"""Friend-registration invitations (友達登録URL): issuing them and finding them by token.

The send side (messaging) calls `issue_invitation(candidate, now=…)` at the moment an
invitation email is rendered for sending, so a scheduled send's link is valid for 7 days from
the real send. The token is `secrets.token_urlsafe(32)`; only its SHA-256 is stored, and the
raw token is returned once, inside the absolute URL, never stored and never logged.

The candidate side (the friend-registration flow) calls `find_invitation(token)` to get the
row back by hash (a lookup by hash needs no constant-time comparison: an attacker can at most
learn hash prefixes) and `mark_used(invitation, now=…)`, a conditional update that succeeds
once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings

from candidates.models import Candidate
from line_integration.models import FriendInvitation

VALIDITY = timedelta(days=7)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_url(token: str) -> str:
    return f"{settings.SITE_URL}/line/friend/{token}/"


def issue_invitation(candidate: Candidate, *, now: datetime, delivery_id: UUID | None = None) -> str:
    """Create an invitation for the candidate and return its absolute URL (with the token)."""
    token = secrets.token_urlsafe(32)
    FriendInvitation.objects.create(
        company_id=candidate.company_id,
        candidate=candidate,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + VALIDITY,
        delivery_id=delivery_id,
    )
    return invitation_url(token)


def find_invitation(token: str) -> FriendInvitation | None:
    """The invitation for this raw token (whatever its state), or None."""
    if not token or len(token) > 200:
        return None
    return FriendInvitation.objects.select_related("candidate", "company").filter(token_hash=hash_token(token)).first()


def mark_used(invitation: FriendInvitation, *, now: datetime, valid_at: datetime | None = None) -> bool:
    """Single use: True only for the one caller whose conditional update wins.

    With `valid_at`, the invitation must also have been unexpired at that moment (the friend
    registration passes the time its LINE Login began, so a login started on the last minute
    of the week may finish)."""
    unused = FriendInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True)
    if valid_at is not None:
        unused = unused.filter(expires_at__gt=valid_at)
    return bool(unused.update(used_at=now))
