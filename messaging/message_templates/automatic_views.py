"""自動送信メール設定: one page listing every automatic kind of the reference, each with its
text, switch (where the reference allows turning it off) and hour (where it has one), and a
preview for a sample candidate. A kind whose app has not registered it yet is listed as not
active. These emails never go to LINE (the pipeline refuses it); the page says so."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages as flash
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from hrmos.http import RecruiterRequest
from hrmos.models import Company
from hrmos.tenancy import request_company
from messaging import rendering
from messaging.message_templates import actions, texts
from messaging.message_templates.forms import BODY_MAX, AutomaticSettingForm
from messaging.models import AUTOMATIC_KINDS, AutomaticMessageSetting, Kind
from messaging.sending import automatic
from messaging.sending.automatic import AutomaticKind


@dataclass
class Entry:
    kind: str
    label: str
    info: AutomaticKind | None = None
    form: AutomaticSettingForm | None = None
    template: automatic.Template | None = None
    preview: texts.Preview | None = None
    refused: tuple[str, ...] = ()  # placeholders the text uses that this kind cannot
    customized: bool = False
    expanded: bool = False
    settings_url: str = ""
    placeholder_help: tuple[tuple[str, str], ...] = ()

    @property
    def active(self) -> bool:
        return self.info is not None


def _settings_url(info: AutomaticKind) -> str:
    if not info.settings_url_name:
        return ""
    try:
        return reverse(info.settings_url_name)
    except NoReverseMatch:
        return ""


def _preview(company: Company, sample: texts.Sample, subject: str, body: str) -> texts.Preview:
    # An automatic email has no recruiter: it goes in the company's name.
    return texts.sample_preview(company, subject, body, sample=sample, sender_name=company.name)


def _entries(
    company: Company, sample: texts.Sample, *, bound: AutomaticSettingForm | None = None, opened: str = ""
) -> list[Entry]:
    customized = set(AutomaticMessageSetting.objects.filter(company=company).values_list("kind", flat=True))
    entries = []
    for kind in Kind.values:
        if kind not in AUTOMATIC_KINDS:
            continue
        entry = Entry(kind=kind, label=str(Kind(kind).label))
        entry.info = automatic.kind_info(kind)
        if entry.info is not None:
            entry.template = automatic.template_for(company, kind)
            entry.customized = kind in customized
            entry.settings_url = _settings_url(entry.info)
            entry.placeholder_help = tuple(texts.automatic_placeholder_help(entry.info.placeholders))
            if bound is not None and bound.info.kind == kind:
                entry.form, entry.expanded = bound, True
                subject, body = bound["subject"].value() or "", bound["body"].value() or ""
            else:
                entry.form = _initial_form(entry.info, entry.template)
                entry.expanded = kind == opened
                subject, body = entry.template.subject, entry.template.body
            entry.preview = _preview(company, sample, subject, body)
            entry.refused = tuple(_refused(entry.info, subject, body))
        entries.append(entry)
    return entries


def _refused(info: AutomaticKind | None, subject: str, body: str) -> list[str]:
    allowed = set(texts.automatic_allowed(info.placeholders if info else ()))
    return [name for name in rendering.placeholders_in(subject, body) if name not in allowed]


def _initial_form(info: AutomaticKind, template: automatic.Template) -> AutomaticSettingForm:
    return AutomaticSettingForm(
        info=info,
        initial={
            "subject": template.subject,
            "body": template.body,
            "enabled": "1" if template.enabled else "0",
            "hour": template.hour,
        },
    )


def _page(request: RecruiterRequest, *, bound: AutomaticSettingForm | None = None) -> HttpResponse:
    company = request_company(request)
    sample = texts.sample_recipient(company)
    entries = _entries(company, sample, bound=bound, opened=request.GET.get("open", ""))
    return render(
        request,
        "messaging/message_templates/automatic.html",
        {"entries": entries, "sample": sample, "tab": "automatic"},
    )


def _anchored(kind: str) -> HttpResponse:
    return redirect(f"{reverse('messaging:automatic_settings')}#automatic-{kind}")


@require_http_methods(["GET", "POST"])
def automatic_settings(request: RecruiterRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    company = request_company(request)
    info = automatic.kind_info(request.POST.get("kind", ""))
    if info is None:
        flash.error(request, "この自動送信メールはまだ有効になっていないため、設定できません。")
        return redirect("messaging:automatic_settings")
    if request.POST.get("action") == "reset":
        if actions.reset_automatic_setting(company, info, user=request.user):
            flash.success(request, f"「{Kind(info.kind).label}」を初期設定に戻しました。")
        return _anchored(info.kind)
    form = AutomaticSettingForm(request.POST, info=info)
    if not form.is_valid():
        return _page(request, bound=form)
    actions.save_automatic_setting(
        company,
        info,
        subject=form.cleaned_data["subject"],
        body=form.cleaned_data["body"],
        enabled=form.chosen_enabled(),
        hour=form.chosen_hour(),
        user=request.user,
    )
    flash.success(request, f"「{Kind(info.kind).label}」の設定を保存しました。")
    return _anchored(info.kind)


@require_POST
def automatic_preview(request: RecruiterRequest) -> HttpResponse:
    """htmx: one kind's text for the sample candidate, while typing."""
    company = request_company(request)
    sample = texts.sample_recipient(company)
    kind = request.POST.get("kind", "")
    subject = request.POST.get("subject", "")[:300]
    body = request.POST.get("body", "")[:BODY_MAX]
    return render(
        request,
        "messaging/message_templates/_preview.html",
        {
            "preview": _preview(company, sample, subject, body),
            "preview_unknown": _refused(automatic.kind_info(kind), subject, body),
            "sample": sample,
        },
    )
