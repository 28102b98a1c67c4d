"""The candidate's pages (public, no login): the personal link `/e/<token>/` (apply, change
date, cancel) and the event's public page `/e/p/<public id>/`.

The personal path carries the token, so pages are never cached, never indexed, and keep their
URL to our own origin; Django's request log would print the path, so the token is masked
there (see `redact_event_tokens`). The public page is throttled per client address.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from events import actions
from events.forms import PublicApplicationForm
from events.links import find_link, link_is_valid
from events.models import Application, Event, EventDate, EventLink
from hrmos.client_ip import client_ip
from hrmos.personal_links import RedactTokens, candidate_page

PUBLIC_POSTS_PER_WINDOW = 20
PUBLIC_WINDOW_SECONDS = 600
THROTTLED = "短時間に多くのお申し込みがありました。しばらく時間をおいてから、もう一度お試しください。"


redact_event_tokens = RedactTokens(r"(/e/)(?!p/)[^/\s?#]+")


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "events/public/invalid.html", status=404)


def date_states(event: Event, now: Any) -> list[tuple[EventDate, str]]:
    """Each date with what a candidate sees: open, 満席, 受付終了 or 開催中止; past dates hidden."""
    states = []
    for date in event.dates.filter(ends_at__gt=now).order_by("starts_at", "pk"):
        if date.is_cancelled:
            state = "cancelled"
        elif now >= date.application_deadline or not event.is_published:
            state = "closed"
        elif date.taken >= date.capacity:
            state = "full"
        else:
            state = "open"
        states.append((date, state))
    return states


def _application(link: EventLink) -> Application | None:
    return (
        Application.objects.filter(event_id=link.event_id, candidate_id=link.candidate_id)
        .select_related("date")
        .first()
    )


def _posted_date(request: HttpRequest, event: Event) -> EventDate | None:
    value = request.POST.get("date", "")
    if not value.isdigit() or len(value) > 18:
        return None
    return EventDate.objects.select_related("event__company").filter(pk=int(value), event=event).first()


def _act(request: HttpRequest, link: EventLink, application: Application | None) -> str:
    """Do what the personal page's form asked; the message to show."""
    what = request.POST.get("action", "")
    date = _posted_date(request, link.event)
    if what == "cancel":
        if application is None:
            raise actions.ApplyRefused(actions.ApplyRefused.NOT_APPLIED)
        actions.cancel(application)
        return "お申し込みをキャンセルしました。確認メールをお送りしました。"
    if date is None:
        raise actions.ApplyRefused("日程を選んでください。")
    if what == "change":
        if application is None:
            raise actions.ApplyRefused(actions.ApplyRefused.NOT_APPLIED)
        actions.change_date(application, date)
        return "日程を変更しました。確認メールをお送りしました。"
    actions.apply(date, link.candidate, Application.Source.PERSONAL)
    return "お申し込みを受け付けました。確認メールをお送りしました。"


@candidate_page
@require_http_methods(["GET", "HEAD", "POST"])
def personal(request: HttpRequest, token: str) -> HttpResponse:
    link = find_link(token)
    if link is None:
        return _invalid(request)
    event, now = link.event, timezone.now()
    application = _application(link)
    if not link_is_valid(event, now):
        expired = {"event": event, "company": event.company, "application": application}
        return render(request, "events/public/expired.html", expired, status=410)
    error = ""
    if request.method == "POST":
        try:
            done = _act(request, link, application)
        except actions.ApplyRefused as refused:
            error = str(refused)
        else:
            messages.success(request, done)
            return redirect("events_public:personal", token=token)
        application = _application(link)
    context: dict[str, Any] = {
        "event": event,
        "company": event.company,
        "candidate": link.candidate,
        "application": application,
        "dates": date_states(event, now),
        "can_cancel": application is not None
        and application.status == Application.Status.APPLIED
        and application.date.accepts_cancellations(now),
        "error": error,
        "now": now,
    }
    return render(request, "events/public/personal.html", context, status=409 if error else 200)


def _public_event(public_id: uuid.UUID) -> Event:
    event = Event.objects.select_related("company").filter(public_id=public_id, is_published=True).first()
    if event is None:
        raise Http404("このイベントは公開されていません。")
    return event


def _throttled(request: HttpRequest, event: Event) -> bool:
    key = f"events:public:{event.pk}:{client_ip(request)}"
    cache.add(key, 0, PUBLIC_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, PUBLIC_WINDOW_SECONDS)
        count = 1
    return count > PUBLIC_POSTS_PER_WINDOW


@candidate_page
@require_http_methods(["GET", "HEAD", "POST"])
def public(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    try:
        event = _public_event(public_id)
    except Http404:
        return render(request, "events/public/not_published.html", status=404)
    now = timezone.now()
    dates = date_states(event, now)
    open_dates = [date for date, state in dates if state == "open"]
    form = PublicApplicationForm(request.POST or None, dates=[date for date, _ in dates])
    error, status = "", 200
    if request.method == "POST":
        if _throttled(request, event):
            error, status = THROTTLED, 429
        elif form.is_valid():
            date = next(date for date, _ in dates if date.pk == form.cleaned_data["date"])
            try:
                actions.apply_publicly(date, form.applicant(), now)
            except actions.ApplyRefused as refused:
                error, status = str(refused), 409
                dates = date_states(event, timezone.now())
            else:
                return redirect("events_public:public_done", public_id=event.public_id)
        else:
            status = 400
    context = {
        "event": event,
        "company": event.company,
        "dates": dates,
        "form": form,
        "error": error,
        "has_open": bool(open_dates),
    }
    return render(request, "events/public/public.html", context, status=status)


@candidate_page
@require_GET
def public_done(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    try:
        event = _public_event(public_id)
    except Http404:
        return render(request, "events/public/not_published.html", status=404)
    return render(request, "events/public/public_done.html", {"event": event, "company": event.company})
