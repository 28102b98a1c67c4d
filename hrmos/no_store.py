"""`Cache-Control: no-store` on every answer to a logged-in user.

Behind login almost every page shows personal data (candidate lists, timelines, exports,
attachments); a shared computer's browser cache or a proxy must not keep any of it. Doing it
here, for every authenticated response, means a new view cannot forget it. Static files never
get here (WhiteNoise answers them earlier) and stay cacheable; pages for visitors without a
session (login, candidates' public pages) decide for themselves.

A view may still choose `private, no-cache` (the browser keeps a copy but asks every time: a poll
answered with a conditional `304` needs it); any other policy, such as `max-age` on a
candidate's photo, becomes no-store.
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
    policy = {part.strip().split("=")[0] for part in response.get("Cache-Control", "").lower().split(",")}
    return "no-store" in policy or {"private", "no-cache"} <= policy
