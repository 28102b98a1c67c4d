"""The candidate's answer pages (public, no login): `/f/<token>/` and its thank-you page.

The path carries the personal token, so pages are never cached, never indexed, and keep their
URL to our own origin (`same-origin`: the answer form's CSRF-checked POST needs a real Origin,
which a `no-referrer` page would not send). Django's request log would print the path: the
token is masked there (see `redact_form_tokens`).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from customforms import actions
from customforms.answer_forms import AnswerForm
from customforms.links import find_link
from customforms.models import Form, FormLink, FormResponse
from hrmos.personal_links import RedactTokens, candidate_page

redact_form_tokens = RedactTokens(r"(/f/)[^/\s?#]+")


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "customforms/public/invalid.html", status=404)


def _unavailable(
    request: HttpRequest, form: Form, reason: str, response: FormResponse | None, typed: list[tuple[str, str]]
) -> HttpResponse:
    """The form takes no answer from this candidate now: say why, show what they gave before
    and, when a POST was refused, what they just typed, so nothing typed is lost."""
    context = {
        "form": form,
        "company": form.company,
        "reason": reason,
        "response": response,
        "answers": response.ordered_answers() if response else [],
        "typed": typed,
    }
    status = 200 if reason == actions.SubmitRefused.ANSWERED else 410
    return render(request, "customforms/public/unavailable.html", context, status=status)


def _refusal(form: Form, response: FormResponse | None) -> str | None:
    if not form.accepts_answers(timezone.now()):
        return actions.SubmitRefused.CLOSED
    if response is not None and not form.is_editable_answers:
        return actions.SubmitRefused.ANSWERED
    return None


def _response_of(link: FormLink) -> FormResponse | None:
    return (
        FormResponse.objects.filter(form_id=link.form_id, candidate_id=link.candidate_id)
        .prefetch_related("answers__field")
        .first()
    )


@candidate_page
@require_http_methods(["GET", "HEAD", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    link = find_link(token)
    if link is None:
        return _invalid(request)
    form = link.form
    response = _response_of(link)
    fields = list(form.live_fields())
    existing = {answer.field_id: answer for answer in response.answers.all()} if response else {}
    if request.method == "POST":
        answer_form = AnswerForm(fields, request.POST, request.FILES, existing=existing)
    else:
        answer_form = AnswerForm(fields, existing=existing)
    if reason := _refusal(form, response):
        return _unavailable(request, form, reason, response, answer_form.typed_values())
    if request.method == "POST" and answer_form.is_valid():
        try:
            actions.submit_response(link, answer_form.answers())
        except actions.SubmitRefused as refused:  # closed or answered since the checks above
            form.refresh_from_db()
            return _unavailable(request, form, refused.reason, _response_of(link), answer_form.typed_values())
        return redirect("customforms_public:done", token=token)
    context = {
        "form": form,
        "company": form.company,
        "candidate": link.candidate,
        "answer_form": answer_form,
        "response": response,
    }
    return render(request, "customforms/public/answer.html", context)


@candidate_page
@require_GET
def done(request: HttpRequest, token: str) -> HttpResponse:
    link = find_link(token)
    if link is None:
        return _invalid(request)
    response = _response_of(link)
    if response is None:
        return redirect("customforms_public:answer", token=token)
    form = link.form
    context = {
        "form": form,
        "company": form.company,
        "response": response,
        "answers": response.ordered_answers(),
        "can_edit": form.is_editable_answers and form.accepts_answers(timezone.now()),
        "token": token,
        "emailed": bool(link.candidate.email),  # the confirmation (form_confirmation) goes there
    }
    return render(request, "customforms/public/done.html", context)
