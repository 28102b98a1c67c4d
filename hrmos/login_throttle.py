"""Login throttling in two tiers, on top of django-axes.

1. One address guessing one username: axes locks that (username, address) pair after
   `AXES_FAILURE_LIMIT` failures, for `AXES_COOLOFF_TIME`.
2. Guessing spread over many addresses against one username: counted here across every
   address. The first `FREE_FAILURES` cost nothing more (so a recruiter whose account an
   attacker is hammering from one address can still sign in from the office); after that each
   further failure makes every address wait before the username may be tried again: 1 minute,
   then 2, 4, 8, … up to the cool-off. A refused attempt checks no password and counts nothing.

The trade-off: someone who knows a username can keep its owner waiting, by spending one wrong
password each time the wait ends. They cannot lock the owner out for longer than the cool-off
after they stop, and an operator clears it at once by deleting the username's access attempts
in the admin. In exchange a distributed guesser gets about ten tries per cool-off period
(some 620 a day at most, however many addresses) instead of five per address.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone

FREE_FAILURES = 5
FIRST_WAIT = timedelta(minutes=1)


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' per-(username, address) lock, then the username-wide wait."""

    def authenticate(
        self, request: HttpRequest, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        super().authenticate(request, username=username, password=password, **kwargs)
        if username and username_wait(username, timezone.now()) > timedelta(0):
            # Axes renders its lockout page for this flag and leaves the attempt uncounted.
            request.axes_locked_out = True  # type: ignore[attr-defined]
            raise AxesBackendPermissionDenied("too many failures for this username from all addresses")


def username_wait(username: str, now: datetime) -> timedelta:
    """How long the username must rest before the next try, from any address."""
    cool_off = get_cool_off() or timedelta(minutes=15)
    recent = AccessAttempt.objects.filter(username=username, attempt_time__gte=now - cool_off).aggregate(
        failures=Sum("failures_since_start"), last=Max("attempt_time")
    )
    failures, last = recent["failures"] or 0, recent["last"]
    if failures <= FREE_FAILURES or last is None:
        return timedelta(0)
    wait = min(cool_off, FIRST_WAIT * 2 ** (failures - FREE_FAILURES - 1))
    return max(timedelta(0), last + wait - now)
