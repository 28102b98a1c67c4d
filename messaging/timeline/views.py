"""The candidate's 「タイムライン」 (email and LINE, in and out) and 「LINEメッセージ」 (LINE only,
chat layout, with a send box that goes to LINE only) tabs."""

from __future__ import annotations

from functools import lru_cache

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.views.decorators.http import require_GET, require_http_methods

from candidates.detail import candidate_or_404, detail_context
from candidates.models import Candidate
from hrmos.http import RecruiterRequest
from hrmos.tenancy import get_scoped_or_404, request_company
from messaging import live, rules
from messaging.models import Channel, Delivery, Kind, Message
from messaging.receiving import inbox
from messaging.sending import compose, forms

TIMELINE_PAGE = 30
LINE_HISTORY = 200


GENERIC_CONTENT = "messaging/timeline/_in_content.html"


@lru_cache(maxsize=64)
def inbound_partial(channel: str, content_type: str) -> str:
    """The template for an incoming item's content (inside the timeline card and the LINE
    chat bubble): `messaging/timeline/_<channel>_in_<type>.html` (e.g. `_line_in_sticker.html`)
    if it exists, else the generic one (text, or a clear placeholder). The receiving side adds
    per-type partials without touching this module; each gets `message` in its context."""
    name = f"messaging/timeline/_{channel}_in_{content_type}.html"
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return GENERIC_CONTENT
    return name


def _with_deliveries(queryset: QuerySet[Message]) -> QuerySet[Message]:
    return queryset.select_related("send", "send__created_by").prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.order_by("channel")), "attachments"
    )


def _timeline_context(request: HttpRequest, candidate: Candidate) -> dict:
    """One page of the timeline (newest first), read after its version (live.py)."""
    version = live.candidate_version(candidate)
    channel = request.GET.get("channel", "")
    messages = Message.objects.filter(company=request_company(request), candidate=candidate)
    if channel == Channel.EMAIL:
        messages = messages.filter(Q(channel=Channel.EMAIL) | Q(deliveries__channel=Channel.EMAIL)).distinct()
    elif channel == Channel.LINE:
        messages = messages.filter(Q(channel=Channel.LINE) | Q(deliveries__channel=Channel.LINE)).distinct()
    else:
        channel = ""
    page = Paginator(_with_deliveries(messages).order_by("-occurred_at", "-id"), TIMELINE_PAGE).get_page(
        request.GET.get("page")
    )
    return {"candidate": candidate, "page": page, "entries": list(page), "channel": channel, "version": version}


@require_GET
def timeline(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    entries = _timeline_context(request, candidate)
    inbox.mark_read(candidate)  # after loading: this page still marks what was unread
    context = detail_context(request, candidate, active_tab="timeline")
    return render(request, "messaging/timeline.html", {**context, **entries})


def _polled_candidate(request: HttpRequest, candidate_pk: int) -> Candidate:
    """The candidate a poll is about, with only what the polled regions show: the answer
    "nothing new" should cost as little as possible (live.py)."""
    return get_scoped_or_404(request, Candidate.objects.only("pk", "company_id", "last_name"), pk=candidate_pk)


@require_GET
def timeline_live(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    """The timeline's newest page again, polled by the open tab: 204 while nothing changed."""
    candidate = _polled_candidate(request, candidate_pk)
    if live.unchanged(request, live.candidate_version(candidate)):
        return live.nothing_new()
    entries = _timeline_context(request, candidate)
    if live.seen(request):
        inbox.mark_read(candidate)  # what arrived is on the screen; it still shows 未読 this once
    return render(request, "messaging/timeline/_entries.html", entries)


def line_history(candidate: Candidate) -> list[Message]:
    """Every LINE item, in and out (including the LINE copy of email+LINE sends), oldest first.
    Outgoing items whose LINE delivery was skipped never reached LINE and are left out (the
    timeline shows them, with the reason)."""
    went_to_line = Delivery.objects.filter(message=OuterRef("pk"), channel=Channel.LINE).exclude(
        status__in=[Delivery.Status.SKIPPED, Delivery.Status.CANCELLED]
    )
    messages = Message.objects.filter(company_id=candidate.company_id, candidate=candidate).filter(
        Q(direction=Message.Direction.IN, channel=Channel.LINE)
        | Q(direction=Message.Direction.OUT) & Exists(went_to_line)
    )
    latest = list(_with_deliveries(messages).order_by("-occurred_at", "-id")[:LINE_HISTORY])
    latest.reverse()
    return latest


@require_http_methods(["GET", "POST"])
def line_chat(request: RecruiterRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    company = request_company(request)
    reason = rules.line_unavailable_reason(company, candidate.pk)
    form_kwargs: forms.ComposeOptions = {
        "kind": Kind.LINE_CHAT,
        "company": company,
        "recipient_count": 1,
        "line_only": True,
        "sender_department": request.user.department,
    }
    if request.method == "POST":
        if compose.submitted_send(company, forms.client_token(request.POST)) is not None:
            return redirect("messaging:line_chat", candidate_pk=candidate.pk)  # the same message posted twice
        form = forms.ComposeForm(request.POST, **form_kwargs)
        if reason:
            form.add_error(None, f"LINEメッセージを送信できません：{reason}")
        elif form.is_valid():
            try:
                compose.create_send(form.draft(), company=company, user=request.user, candidates=[candidate.pk])
            except compose.ComposeError as exc:
                forms.add_errors(form, exc.errors)
            else:
                flash.success(request, "LINEメッセージを送信しました。")
                return redirect("messaging:line_chat", candidate_pk=candidate.pk)
    else:
        form = forms.ComposeForm(initial={"timing": forms.ComposeForm.TIMING_NOW}, **form_kwargs)
        inbox.mark_read(candidate, channel=Channel.LINE)
    context = detail_context(request, candidate, active_tab="line")
    return render(
        request,
        "messaging/line_chat.html",
        {**context, **_line_context(candidate), "form": form, "line_reason": reason},
    )


def _line_context(candidate: Candidate) -> dict:
    version = live.candidate_version(candidate)  # before the rows (live.py)
    return {"candidate": candidate, "history": line_history(candidate), "version": version}


@require_GET
def line_chat_live(request: RecruiterRequest, candidate_pk: int) -> HttpResponse:
    """The LINE tab's messages again, polled by the open tab: 204 while nothing changed."""
    candidate = _polled_candidate(request, candidate_pk)
    if live.unchanged(request, live.candidate_version(candidate)):
        return live.nothing_new()
    if live.seen(request):
        inbox.mark_read(candidate, channel=Channel.LINE)  # the reply is on the screen in front of her
    return render(request, "messaging/timeline/_line_history.html", _line_context(candidate))
