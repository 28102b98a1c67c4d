"""Compose screens: bulk (from the candidate list), one candidate, reply; live preview and
the LINE quota guard. Thin: parse, call `compose`, render."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidates.detail import candidate_or_404
from candidates.listing import selected_candidates
from candidates.models import Candidate
from hrmos.fields import FieldDecryptionError
from hrmos.http import RecruiterRequest
from hrmos.tenancy import get_scoped_or_404, request_company
from line_integration.api import quota as line_quota
from line_integration.api.client import LineError
from line_integration.api.tokens import IntegrationNotLinked
from line_integration.models import LineAccount
from messaging import kinds, rendering, rules
from messaging.kinds import ComposeKind
from messaging.models import Channel, Kind, Message
from messaging.sending import compose, forms

log = logging.getLogger(__name__)

SELECTION_FIELDS = ("ids", "all_matching", "query")


def _selection_data(data: QueryDict) -> QueryDict:
    kept = QueryDict(mutable=True)
    for name in SELECTION_FIELDS:
        for value in data.getlist(name):
            kept.appendlist(name, value)
    return kept


def _single(candidate: Candidate) -> QueryDict:
    data = QueryDict(mutable=True)
    data["ids"] = str(candidate.pk)
    return data


def _line_summary(request: HttpRequest, recipients: QuerySet[Candidate]) -> dict:
    company = request_company(request)
    linked = rules.is_linked(company)
    friends = 0
    if linked:
        friends = LineAccount.objects.filter(
            company=company,
            candidate__in=recipients.order_by().values("pk"),
            friend_state=LineAccount.FriendState.FRIEND,
        ).count()
    return {"line_linked": linked, "line_friends": friends}


def _compose_page(
    request: RecruiterRequest,
    *,
    kind: str,
    recipients: QuerySet[Candidate],
    selection: QueryDict,
    title: str,
    action_url: str,
    candidate: Candidate | None = None,
    in_reply_to: Message | None = None,
    initial: dict | None = None,
    compose_kind: ComposeKind | None = None,
) -> HttpResponse:
    company = request_company(request)
    count = recipients.count()
    has_agent = recipients.filter(agent__isnull=False).exists()
    form_kwargs: forms.ComposeOptions = {
        "kind": kind,
        "company": company,
        "recipient_count": count,
        "allow_agent": has_agent,
        "allow_invitation": kind == Kind.BULK,
        "compose_kind": compose_kind,
        "sender_department": request.user.department,
    }
    submitted = request.method == "POST" and request.POST.get("compose") == "1"
    if submitted:
        earlier = compose.submitted_send(company, forms.client_token(request.POST))
        if earlier is not None:
            flash.info(request, "この送信はすでに受け付けています（同じ内容を二重に送信しないようにしました）。")
            return redirect("messaging:send_detail", send_pk=earlier.pk)
        form = forms.ComposeForm(request.POST, request.FILES, **form_kwargs)
        if form.is_valid():
            draft = form.draft()
            draft.in_reply_to = in_reply_to
            try:
                send = compose.create_send(draft, company=company, user=request.user, candidates=recipients)
            except compose.ComposeError as exc:
                forms.add_errors(form, exc.errors)
            else:
                if send.scheduled_at:
                    flash.success(request, f"{send.scheduled_at:%Y/%m/%d %H:%M} に{count}名へ送信を予約しました。")
                else:
                    flash.success(request, f"{count}名への送信を開始しました。")
                return redirect("messaging:send_detail", send_pk=send.pk)
    else:
        form = forms.ComposeForm(initial=initial or {}, **form_kwargs)

    first = recipients.first()
    draft = forms.draft_from_data(request.POST if submitted else (initial or {}), kind=kind, compose_kind=compose_kind)
    preview = _preview(request, draft, first)
    context = {
        "title": title,
        "form": form,
        "kind": kind,
        "action_url": action_url,
        "selection": selection,
        "recipient_count": count,
        "recipients_sample": list(recipients[:5]),
        "candidate": candidate,
        "in_reply_to": in_reply_to,
        "has_agent": has_agent,
        "first_recipient": first,
        "preview": preview,
        "preview_errors": _preview_errors(draft),
        "preview_problems": _preview_problems(request, draft),
        "placeholders": forms.placeholder_help(kind, compose_kind),
        "compose_kind": compose_kind,
        "line_limit": rendering.LINE_TOTAL_LIMIT,
        "friend_url_placeholder": "{{" + rendering.FRIEND_URL + "}}",
        # The template picker keeps the quoted email under a reply's new text.
        "picker_keep": quote(in_reply_to) if in_reply_to is not None else "",
        **_line_summary(request, recipients),
    }
    if candidate is not None:
        context["line_reason"] = rules.line_unavailable_reason(company, candidate.pk)
    return render(request, "messaging/compose.html", context)


def _preview(request: RecruiterRequest, draft: compose.Draft, first: Candidate | None) -> rendering.Rendered:
    return compose.preview(
        draft,
        company=request_company(request),
        sender_name=request.user.display_name,
        sender_department=request.user.department,
        candidate=first,
    )


def _preview_problems(request: RecruiterRequest, draft: compose.Draft) -> list[str]:
    """What compose would refuse about the sender (e.g. {{送信者部署}} without a department)."""
    return [message for _, message in compose.sender_problems(draft, request.user.department)]


def _preview_errors(draft: compose.Draft) -> list[str]:
    unknown = rendering.unknown_placeholders(
        draft.subject, draft.body, allow_friend_url=draft.include_friend_invitation
    )
    return ["{{" + name + "}}" for name in unknown]


def _kind_of(request: HttpRequest) -> tuple[str, ComposeKind | None]:
    """The kind of send asked for (`?kind=` or the form's field): a plain message, or one an
    app registered (イベント案内, 日程調整…); anything else is a 404."""
    kind = request.POST.get("kind") or request.GET.get("kind") or Kind.BULK
    compose_kind = kinds.get(kind)
    if compose_kind is None and kind not in (Kind.BULK, Kind.CANDIDATE):
        raise Http404("この種類のメッセージは送信できません。")
    return kind, compose_kind


def _initial_for(request: HttpRequest, compose_kind: ComposeKind | None) -> dict[str, Any]:
    """A registered kind's starting text, and what it is about when the caller named it
    (e.g. an event page posting `event=12`)."""
    if compose_kind is None:
        return {}
    about = request.POST.get(compose_kind.context_key) or request.GET.get(compose_kind.context_key)
    return {"subject": compose_kind.initial_subject, "body": compose_kind.initial_body, "about": about}


def _with_kind(url: str, kind: str) -> str:
    return f"{url}?{urlencode({'kind': kind})}" if kind not in (Kind.BULK, Kind.CANDIDATE) else url


@require_http_methods(["GET", "POST"])
def compose_bulk(request: RecruiterRequest) -> HttpResponse:
    """Entered by the candidate list's bulk actions (a POST of the selection, `?kind=` for a
    registered kind); submitted by the compose form, which carries the same selection fields."""
    kind, compose_kind = _kind_of(request)
    if kind == Kind.CANDIDATE:
        kind = Kind.BULK
    selection = _selection_data(request.GET) if request.method == "GET" else _selection_data(request.POST)
    recipients = selected_candidates(request, selection)
    return _compose_page(
        request,
        kind=kind,
        recipients=recipients,
        selection=selection,
        title=compose_kind.title if compose_kind else "メッセージを送信",
        action_url=_with_kind(reverse("messaging:compose_bulk"), kind),
        initial=_initial_for(request, compose_kind),
        compose_kind=compose_kind,
    )


@require_http_methods(["GET", "POST"])
def compose_candidate(request: RecruiterRequest, candidate_pk: int) -> HttpResponse:
    """The candidate page's 「メッセージを送信」, or a registered kind for this one candidate."""
    kind, compose_kind = _kind_of(request)
    if kind == Kind.BULK:
        kind = Kind.CANDIDATE
    candidate = candidate_or_404(request, candidate_pk)
    recipients = selected_candidates(request, _single(candidate))
    title = (
        f"{candidate.name}さんに{compose_kind.title}を送信"
        if compose_kind
        else f"{candidate.name}さんにメッセージを送信"
    )
    return _compose_page(
        request,
        kind=kind,
        recipients=recipients,
        selection=_single(candidate),
        title=title,
        action_url=_with_kind(reverse("messaging:compose", args=[candidate.pk]), kind),
        candidate=candidate,
        initial=_initial_for(request, compose_kind),
        compose_kind=compose_kind,
    )


def quote(message: Message) -> str:
    when = timezone.localtime(message.occurred_at)
    sender = message.sender_name or message.from_address or message.candidate.name
    header = f"{when:%Y/%m/%d %H:%M} {sender}さんからのメール："
    quoted = "\n".join(f"> {line}" for line in message.body.splitlines())
    return f"\n\n{header}\n{quoted}\n"


def reply_subject(subject: str) -> str:
    subject = subject.strip()
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


@require_http_methods(["GET", "POST"])
def reply(request: RecruiterRequest, message_pk: int) -> HttpResponse:
    """返信 on a received email in the candidate's timeline: quotes it, subject `Re:`."""
    original = get_scoped_or_404(
        request,
        Message.objects.select_related("candidate"),
        pk=message_pk,
        direction=Message.Direction.IN,
        channel=Channel.EMAIL,
    )
    candidate = candidate_or_404(request, original.candidate_id)
    recipients = selected_candidates(request, _single(candidate))
    return _compose_page(
        request,
        kind=Kind.REPLY,
        recipients=recipients,
        selection=_single(candidate),
        title=f"{candidate.name}さんへの返信",
        action_url=reverse("messaging:reply", args=[original.pk]),
        candidate=candidate,
        in_reply_to=original,
        initial={"subject": reply_subject(original.subject), "body": quote(original)},
    )


@require_POST
def compose_preview(request: RecruiterRequest) -> HttpResponse:
    """htmx: the first recipient's copy, and unknown placeholders, while typing."""
    posted_kind = request.POST.get("kind", "")
    kind = posted_kind if posted_kind in Kind.values else Kind.BULK
    recipients = selected_candidates(request, _selection_data(request.POST))
    first = recipients.first()
    draft = forms.draft_from_data(request.POST, kind=kind, compose_kind=kinds.get(kind))
    return render(
        request,
        "messaging/_preview.html",
        {
            "preview": _preview(request, draft, first),
            "preview_errors": _preview_errors(draft),
            "preview_problems": _preview_problems(request, draft),
            "first_recipient": first,
            "line_limit": rendering.LINE_TOTAL_LIMIT,
            "send_line": draft.send_line,
            "kind": kind,
        },
    )


@require_GET
def quota_guard(request: HttpRequest) -> HttpResponse:
    """htmx: how many LINE messages this send uses against the month's remaining quota."""
    company = request_company(request)
    try:
        needed = max(0, min(int(request.GET.get("n", "0")), 10_000_000))
    except ValueError:
        needed = 0
    context: dict = {"needed": needed, "quota": None, "error": ""}
    try:
        integration = rules.integration_for(company)
    except FieldDecryptionError:
        context["error"] = "保存されているLINEのシークレットを読み取れないため、今月の送信数を確認できません。"
        return render(request, "messaging/_quota.html", context)
    if integration is None or not integration.is_linked:
        context["error"] = rules.REASON_UNLINKED
    else:
        try:
            context["quota"] = line_quota.monthly_quota(integration)
        except (LineError, IntegrationNotLinked) as exc:
            log.info("quota lookup failed: %s", exc)
            context["error"] = "LINEの今月の送信数を取得できませんでした。"
    return render(request, "messaging/_quota.html", context)


__all__ = ["compose_bulk", "compose_candidate", "compose_preview", "quota_guard", "reply"]
