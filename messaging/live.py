"""Live screens: what an open tab asks every few seconds, answered without rendering when
nothing changed.

Each screen that updates in place shows a *version*: a candidate's conversation (the LINE tab
and the timeline) and a company's inbox (the inbox and the navigation badge). A version is made
of random tokens kept in the cache; the code that changes what a screen shows calls
`changed(...)`, which gives the affected keys new tokens. A poll carries the version its page
shows (`?v=`); when it is still current the answer is 204 with no query on messages and no
template.

- Tokens are random, never counters: after Redis restarts or evicts a key, the key gets a new
  token, which never equals what a page holds, so a stale page cannot pass for current.
- New tokens are written after the transaction that changed the rows commits. Written earlier, a
  poll in between could take the new token with the old rows and then miss the change.
- A cache that fails is logged, never raised: the rows are saved. Without the cache a version
  is the current `WITHOUT_CACHE_EVERY`-second period, so open tabs render once per period
  (not on every poll, which would load the servers most when something is already wrong) and
  once more when the cache is back. Keys expire after `TTL`: a renewal lost any other way is
  seen by then at the latest.
- Changes that touch a whole send (a scheduled send going out or cancelled, a channel's quota
  exhausted) change the company's `sends` token rather than one key per recipient: every open
  candidate screen of that company renders once.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable, Sequence

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from candidates.models import Candidate

log = logging.getLogger(__name__)

TTL = 300  # seconds; an idle tab renders once per key per TTL
SEEN_HEADER = "X-Live-Seen"  # sent by the page's script while the tab is visible
WITHOUT_CACHE_EVERY = 30  # seconds
MANY = 500  # candidates in one change above which the company's `sends` token is renewed instead


def _candidate_key(candidate_id: int) -> str:
    return f"live:candidate:{candidate_id}"


def _inbox_key(company_id: int) -> str:
    return f"live:inbox:{company_id}"


def _sends_key(company_id: int) -> str:
    return f"live:sends:{company_id}"


def _token() -> str:
    return secrets.token_hex(8)


def changed(
    *, candidates: Iterable[int | None] = (), inboxes: Iterable[int] = (), sends_of: Iterable[int] = ()
) -> None:
    """What the screens of these candidates (their conversation), these companies' inboxes, or
    every candidate of these companies (`sends_of`) show has changed: new tokens once the
    current transaction commits."""
    keys = {_candidate_key(pk) for pk in candidates if pk is not None}
    keys |= {_inbox_key(pk) for pk in inboxes} | {_sends_key(pk) for pk in sends_of}
    if keys:

        def renew_live_versions() -> None:  # named: tests and Django's logs tell it from tasks
            _renew(keys)

        transaction.on_commit(renew_live_versions)


def send_written(company_id: int, candidate_ids: Sequence[int]) -> None:
    """A new send's messages are on these candidates' timelines. A big send renews the
    company's `sends` token instead of writing one key per recipient."""
    if len(candidate_ids) > MANY:
        changed(sends_of=[company_id])
    else:
        changed(candidates=candidate_ids)


def _renew(keys: set[str]) -> None:
    try:
        cache.set_many({key: _token() for key in keys}, TTL)
    except Exception:
        log.warning("live: could not renew %d version keys", len(keys), exc_info=True)


def _version(*keys: str) -> str:
    try:
        found = cache.get_many(keys)
        for key in keys:
            if key not in found:
                token = _token()
                found[key] = token if cache.add(key, token, TTL) else cache.get(key, token)
    except Exception:
        log.warning("live: could not read version keys", exc_info=True)
        return f"nocache-{int(time.time() // WITHOUT_CACHE_EVERY)}"
    return ".".join(str(found[key]) for key in keys)


def candidate_version(candidate: Candidate) -> str:
    """The version of this candidate's LINE tab and timeline. Read it before the rows."""
    return _version(_candidate_key(candidate.pk), _sends_key(candidate.company_id))


def inbox_version(company_id: int) -> str:
    """The version of the company's inbox and unread badge. Read it before the rows."""
    return _version(_inbox_key(company_id))


def unchanged(request: HttpRequest, version: str) -> bool:
    return request.GET.get("v", "") == version


def nothing_new() -> HttpResponse:
    """204: htmx leaves the page as it is."""
    return HttpResponse(status=204)


def seen(request: HttpRequest) -> bool:
    """The poll comes from a tab the recruiter has in front of her (not a background tab)."""
    return request.headers.get(SEEN_HEADER) == "1"
