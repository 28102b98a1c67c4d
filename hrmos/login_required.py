"""Login everywhere (Django's LoginRequiredMiddleware), htmx-aware.

An htmx request (a poll such as the navigation badge or a send's progress, or a partial swap)
would swap Django's answer, the login page, into a corner of the page when the session has
lapsed. Instead it gets `204` with `HX-Redirect` to the login page, which htmx follows as a full
navigation, with `next` = the page the recruiter was on (LoginView checks `next` is ours).
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import resolve_url


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    # The stub narrows the return type to Django's own answer (a redirect); any response works here.
    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Callable[..., HttpResponseBase]
    ) -> HttpResponse:
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        next_path = (page.path or "/") + (f"?{page.query}" if page.query else "")
        login = redirect_to_login(
            next_path, resolve_url(self.get_login_url(view_func)), self.get_redirect_field_name(view_func)
        )
        return HttpResponse(status=204, headers={"HX-Redirect": login["Location"]})
