"""Request types for views' signatures: what the middleware stack (settings.MIDDLEWARE) puts
on a request, so that mypy knows `request.htmx` and that a view behind login has a `User`."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django_htmx.middleware import HtmxDetails

from hrmos.models import User


class AppRequest(HttpRequest):
    """Any request of the app, logged in or not."""

    htmx: HtmxDetails
    # The recruiter's company, or None, loaded on first use (hrmos.tenancy.CompanyMiddleware).
    # A lazy object wrapping None is not None: read it with `hrmos.tenancy.request_company`.
    company: SimpleLazyObject


class RecruiterRequest(AppRequest):
    """A request to a view behind login (every view not marked @login_not_required):
    LoginRequiredMiddleware let it through, so `user` is a recruiter, never AnonymousUser."""

    user: User
