"""What every candidate's personal page shares, whichever app serves it.

A personal link is `/<prefix>/<token>/`: the token is random and only its SHA-256 is stored, so
the URL is the secret. The page needs no login, is never cached, keeps its URL out of other
sites' Referer and out of search engines, and Django's own log lines mask the token.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_not_required
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

# Django logs the path of every 4xx/5xx answer and of a CSRF refusal on these loggers.
PATH_LOGGERS = ("django.request", "django.security.csrf")
TOKEN_MAX_LENGTH = 200

M = TypeVar("M", bound=Model)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class RedactTokens(logging.Filter):
    """Masks the token of a personal path in a log record's arguments. `pattern` has one group,
    the path up to the token, which is kept."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.token_in_path = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.token_in_path.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        return True

    def install(self) -> None:
        for name in PATH_LOGGERS:
            logging.getLogger(name).addFilter(self)


def candidate_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return login_not_required(never_cache(wrapper))


def find_by_token(links: QuerySet[M], token: str) -> M | None:
    """The link among `links` whose stored hash is this raw token's, or None (also for an empty
    or absurdly long token, which no link has)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return links.filter(token_hash=hash_token(token)).first()


def create_link(links: type[M], now: datetime, **fields: Any) -> tuple[M, str]:
    """A new link row with a random token, and the token (which is not stored)."""
    token = new_token()
    return links._default_manager.create(token_hash=hash_token(token), created_at=now, **fields), token


def link_for_token(links: type[M], token: str, now: datetime, **fields: Any) -> M:
    """The link row of a given token, created the first time: a retried delivery brings the
    same token again and must find the link it minted before."""
    return links._default_manager.get_or_create(token_hash=hash_token(token), defaults={"created_at": now, **fields})[0]
