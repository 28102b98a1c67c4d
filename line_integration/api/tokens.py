"""Channel access tokens for a company's Messaging API channel, minted from its id + secret.

The choice: **stateless tokens** (`POST /oauth2/v3/token`, 15 minutes), cached and shared,
not one short-lived (30-day) token per channel.

- Stateless tokens have no per-channel cap. Short-lived ones are capped at 30 per channel and
  LINE silently revokes the oldest on the 31st, so a staging copy or a second system using
  the same secret can knock out our token; with stateless tokens nobody can.
- Nothing to revoke or rotate: a token leaked from a backup or a log is dead within 15
  minutes, and unlinking needs no cleanup call to LINE.
- The cost is one token request per channel per ~13 minutes, which is nothing.

Where the token lives: encrypted in the `LineIntegration` row (`access_token`,
`access_token_expires_at`), so web processes and every Celery worker share one token per
channel without Redis, plus a per-process memo so a hot send loop neither queries nor
decrypts per message. A token is used until `REFRESH_MARGIN` before it expires, then
re-minted. Concurrent refreshes in several processes are harmless (each gets a valid token).

`call_with_token(integration, fn, ...)` runs a `client` function with the channel's token and,
on a 401 (the token expired early or was rejected), replaces the token and retries **once**.
A second 401 is raised: the channel itself is the problem then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, TypeGuard, TypeVar

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from line_integration.api import client
from line_integration.api.client import LineError, LineErrorKind
from line_integration.models import LineIntegration

P = ParamSpec("P")
R = TypeVar("R")

REFRESH_MARGIN = timedelta(minutes=2)

# (integration pk, messaging channel id) → (token, expires_at); per process.
_memo: dict[tuple[int, str], tuple[str, datetime]] = {}


class IntegrationNotLinked(Exception):
    """The company's LINE integration is not 連携中: there is no channel to call."""


def _usable(expires_at: datetime | None, now: datetime) -> TypeGuard[datetime]:
    return expires_at is not None and expires_at - REFRESH_MARGIN > now


def _memo_key(integration: LineIntegration) -> tuple[int, str]:
    return (integration.pk, integration.messaging_channel_id)


@sensitive_variables()
def channel_token(integration: LineIntegration) -> str:
    """A valid channel access token for the integration's Messaging API channel."""
    if not integration.is_linked or not integration.messaging_channel_secret:
        raise IntegrationNotLinked(f"LINE is not linked for company {integration.company_id}")
    now = timezone.now()
    key = _memo_key(integration)
    memo = _memo.get(key)
    if memo and _usable(memo[1], now):
        return memo[0]
    if integration.access_token and _usable(integration.access_token_expires_at, now):
        _memo[key] = (integration.access_token, integration.access_token_expires_at)
        return integration.access_token
    stored = _stored_token(integration)
    if stored and _usable(stored[1], now):
        _memo[key] = stored
        return stored[0]
    return _mint(integration)


@sensitive_variables()
def _stored_token(integration: LineIntegration) -> tuple[str, datetime] | None:
    """The token another process may have stored since this instance was loaded."""
    row = (
        LineIntegration.objects.filter(pk=integration.pk, messaging_channel_id=integration.messaging_channel_id)
        .values_list("access_token", "access_token_expires_at")
        .first()
    )
    if not row or not row[0] or row[1] is None:
        return None
    return row[0], row[1]


@sensitive_variables()
def _mint(integration: LineIntegration) -> str:
    issued = client.issue_stateless_token(integration.messaging_channel_id, integration.messaging_channel_secret)
    expires_at = timezone.now() + timedelta(seconds=issued.expires_in)
    # Stored only while the row still holds the same channel (an unlink or relink may have
    # happened meanwhile); `update` keeps this off the row's other fields and updated_at.
    LineIntegration.objects.filter(
        pk=integration.pk, status=LineIntegration.Status.LINKED, messaging_channel_id=integration.messaging_channel_id
    ).update(access_token=issued.access_token, access_token_expires_at=expires_at)
    integration.access_token = issued.access_token
    integration.access_token_expires_at = expires_at
    _memo[_memo_key(integration)] = (issued.access_token, expires_at)
    return issued.access_token


@sensitive_variables()
def _replace_rejected_token(integration: LineIntegration, rejected: str) -> str:
    """After a 401: another process may already hold a newer token; otherwise mint one."""
    key = _memo_key(integration)
    memo = _memo.get(key)
    if memo is not None and memo[0] == rejected:
        _memo.pop(key, None)
    if integration.access_token == rejected:
        integration.access_token = ""
        integration.access_token_expires_at = None
    stored = _stored_token(integration)
    if stored and stored[0] != rejected and _usable(stored[1], timezone.now()):
        _memo[key] = stored
        return stored[0]
    return _mint(integration)


def forget_token(integration: LineIntegration) -> None:
    """Drop this process's memo for the integration (after an unlink or a credential change)."""
    for key in [k for k in _memo if k[0] == integration.pk]:
        _memo.pop(key, None)


@sensitive_variables()
def call_with_token(
    integration: LineIntegration,
    fn: Callable[Concatenate[str, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """Run `fn(token, *args, **kwargs)` (a `client` function) with the channel's token.

    On a 401 the token is replaced and the call retried once; a 401 means LINE did not act on
    the request, so this is safe for pushes too (the retry key travels in `kwargs`).
    Raises IntegrationNotLinked when the company is not 連携中, LineError otherwise.
    """
    token = channel_token(integration)
    try:
        return fn(token, *args, **kwargs)
    except LineError as exc:
        if exc.kind != LineErrorKind.UNAUTHORIZED:
            raise
    token = _replace_rejected_token(integration, token)
    return fn(token, *args, **kwargs)
