"""`Cache-Control: no-store` on every answer to a logged-in user.

Behind login almost every page shows personal data (candidate lists, timelines, exports,
attachments); a shared computer's browser cache or a proxy must not keep any of it. Doing it
here, for every authenticated response, means a new view cannot forget it. Static files never
get here (WhiteNoise answers them earlier) and stay cacheable; pages for visitors without a
session (login, candidates' public pages) decide for themselves.

A view that sets its own `private` or `no-store` policy keeps it (for instance a poll answered
with a conditional `304`, which needs `private, no-cache`).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class NoStoreForUsersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not _keeps_own_policy(response):
            add_never_cache_headers(response)
        return response


def _keeps_own_policy(response: HttpResponseBase) -> bool:
    policy = response.get("Cache-Control", "").lower()
    return "private" in policy or "no-store" in policy
