"""The candidate's friend-registration pages (public, no login). Thin: look up, call
`friend_registration`, render.

The URLs carry the invitation token or LINE's code, so no page may leak its URL through
`Referer`. Every page carries `Referrer-Policy: no-referrer` and `Cache-Control: no-store`,
except the landing page (the one with the 「LINEでログイン」 form), which says `same-origin`
(in the header and in the page's `<meta name="referrer">`, which would otherwise override it):
the form's POST is CSRF-protected, and a browser sends `Origin: null` on a POST from a
no-referrer page, which Django's CSRF check refuses. With `same-origin` the URL stays within
our origin (cross-origin requests get no referrer), and the 302 to LINE that follows the POST
says `no-referrer` again, so LINE never sees the token.

Why CSRF matters on a public page: a forged POST would start a login for the attacker's
invitation in the victim's browser, where LINE's SSO may log the victim straight in, attaching
the victim's LINE account to the attacker's candidate (login CSRF).

No page takes a `next` or any other URL from the request: the only redirects are to LINE's
authorize URL built from settings and to our own result page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from hrmos.models import Company
from hrmos.personal_links import RedactTokens
from line_integration.friends import registration as flow
from line_integration.friends.invitations import find_invitation
from line_integration.models import FriendInvitation

STATUS_FOR_LINK = {
    flow.LinkState.LANDING: 200,
    flow.LinkState.COMPLETED: 200,
    flow.LinkState.EXPIRED: 410,
    flow.LinkState.INVALID: 404,
    flow.LinkState.UNAVAILABLE: 503,
}
TEMPLATE_FOR_LINK = {
    flow.LinkState.LANDING: "line_integration/friend/landing.html",
    flow.LinkState.COMPLETED: "line_integration/friend/complete.html",
    flow.LinkState.EXPIRED: "line_integration/friend/expired.html",
    flow.LinkState.INVALID: "line_integration/friend/invalid.html",
    flow.LinkState.UNAVAILABLE: "line_integration/friend/unavailable.html",
}


LANDING_REFERRER_POLICY = "same-origin"
# Django logs the path of every 4xx/5xx answer and of a CSRF refusal; for
# `/line/friend/<token>/` the path is the secret. Installed by `LineIntegrationConfig.ready()`.
redact_invitation_tokens = RedactTokens(r"(/line/friend/)(?!retry/|result/)[^/\s?#]+")


def candidate_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Public, never cached, never leaking its URL through Referer (unless the view chose
    `same-origin`, for the landing page's form)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.setdefault("Referrer-Policy", "no-referrer")
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return login_not_required(never_cache(wrapper))


def _link_page(request: HttpRequest, view: flow.LinkView, action_url: str) -> HttpResponse:
    context: dict[str, Any] = {"view": view, "company": view.company, "action_url": action_url}
    if view.state == flow.LinkState.COMPLETED and view.account is not None:
        context["result"] = flow.completion_view(view.account)
        context["check_url"] = action_url
    if view.invitation is not None:
        context["candidate"] = view.invitation.candidate
        context["invitation"] = view.invitation
    response = render(request, TEMPLATE_FOR_LINK[view.state], context, status=STATUS_FOR_LINK[view.state])
    if view.state == flow.LinkState.LANDING:
        response["Referrer-Policy"] = LANDING_REFERRER_POLICY  # see the module docstring
        # Browsers apply the page's CSP form-action to the redirect that follows the POST: allow
        # LINE Login's host as configured now (the settings' policy froze it at startup).
        response._csp_update = {"form-action": [settings.LINE_ACCESS_BASE]}  # type: ignore[attr-defined]
    return response


def _landing_or_start(request: HttpRequest, invitation: FriendInvitation | None, action_url: str) -> HttpResponse:
    if request.method == "POST" and invitation is not None:
        try:
            started = flow.start_attempt(invitation)
        except flow.StartRefused as refused:
            return _link_page(request, refused.view, action_url)
        flow.remember_state(request.session, started.state_hash)
        return HttpResponseRedirect(started.authorize_url)
    return _link_page(request, flow.examine(invitation), action_url)


@candidate_page
@require_http_methods(["GET", "HEAD", "POST"])
def friend(request: HttpRequest, token: str) -> HttpResponse:
    """`/line/friend/<token>/`: the link from the invitation email.

    GET explains what will happen (a mail client's link scanner may GET it: nothing changes);
    POST (the 「LINEでログイン」 button, with its CSRF token) starts a login attempt and goes
    to LINE."""
    return _landing_or_start(request, find_invitation(token), request.path)


@candidate_page
@require_http_methods(["GET", "HEAD", "POST"])
def friend_retry(request: HttpRequest, attempt_id: UUID) -> HttpResponse:
    """「もう一度試す」 from the failure page: the same landing page for the same invitation."""
    attempt = flow.attempt_for_retry(attempt_id)
    if attempt is None:
        raise Http404
    return _landing_or_start(request, attempt.invitation, request.path)


@candidate_page
@require_GET
def callback(request: HttpRequest, public_id: str) -> HttpResponse:
    """`/line/callback/<public_id>/`: LINE Login's redirect, for this company only."""
    company = get_object_or_404(Company, public_id=public_id)
    result = flow.handle_callback(
        company, request.GET.dict(), session_state_hashes=flow.remembered_states(request.session)
    )
    attempt = result.attempt
    if attempt is not None:
        states = [h for h in flow.remembered_states(request.session) if h != attempt.state_hash]
        request.session[flow.SESSION_KEY] = states
    # A login that got this far always has its attempt; only failures may have none.
    succeeded = (flow.Outcome.FRIEND, flow.Outcome.NOT_FRIEND, flow.Outcome.ALREADY_REGISTERED)
    if attempt is not None and result.outcome in succeeded:
        return redirect(reverse("line:friend_result", args=[attempt.public_id]))
    retry_url = reverse("line:friend_retry", args=[attempt.public_id]) if attempt and result.can_retry else ""
    context = {
        "company": company,
        "retry_url": retry_url,
        "message": flow.CONFLICT_MESSAGE if result.outcome == flow.Outcome.CONFLICT else flow.FAILURE_MESSAGE,
        "is_conflict": result.outcome == flow.Outcome.CONFLICT,
    }
    return render(
        request,
        "line_integration/friend/failure.html",
        context,
        status=409 if result.outcome == flow.Outcome.CONFLICT else 400,
    )


@candidate_page
@require_GET
def friend_result(request: HttpRequest, attempt_id: UUID) -> HttpResponse:
    """Where a successful callback lands: completion, or the add-friend button until the
    candidate is a friend (read live: reload after adding the account)."""
    result = flow.result_for(attempt_id)
    if result is None:
        raise Http404
    template = "complete.html" if result.is_friend else "add_friend.html"
    context = {"result": result, "company": result.company, "check_url": request.path}
    return render(request, f"line_integration/friend/{template}", context)
