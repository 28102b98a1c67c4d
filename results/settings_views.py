"""選考結果の通知設定: for each stage and result, whether a notice goes, when (at once, or N
days later at an hour, Japan time) and its text. Linked from the 自動送信メール設定 page,
whose 選考結果の自動通知 template is the text a stage and result uses until it has its own."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from candidates.models import Stage
from hrmos.http import RecruiterRequest
from hrmos.models import Company
from hrmos.tenancy import get_scoped_or_404, request_company
from messaging.message_templates import texts
from messaging.sending import automatic
from results import actions, notices
from results.forms import NoticeSettingForm, notice_initial
from results.models import Outcome


@require_GET
def settings_list(request: RecruiterRequest) -> HttpResponse:
    company = request_company(request)
    rows = [
        (stage, [(label, notices.notice_for(company, stage, value)) for value, label in Outcome.choices])
        for stage in actions.recordable_stages(company)
    ]
    return render(
        request,
        "results/settings_list.html",
        {"rows": rows, "kind_enabled": automatic.template_for(company, notices.KIND).enabled},
    )


@require_http_methods(["GET", "POST"])
def stage_settings(request: RecruiterRequest, stage_pk: int) -> HttpResponse:
    company = request_company(request)
    stage = get_scoped_or_404(request, actions.recordable_stages(company), pk=stage_pk)
    posted = request.POST.get("outcome", "") if request.method == "POST" else ""
    forms = {}
    for value, _label in Outcome.choices:
        if value == posted:
            forms[value] = NoticeSettingForm(request.POST, outcome=value)
        else:
            forms[value] = NoticeSettingForm(
                outcome=value, initial=notice_initial(notices.notice_for(company, stage, value))
            )
    if posted in forms and forms[posted].is_valid():
        values = _following_the_template(company, forms[posted].setting_values())
        actions.save_notice_setting(company, stage, posted, values=values, user=request.user)
        flash.success(request, f"「{stage.name}」の{notices.OUTCOME_LABELS[posted]}の通知設定を保存しました。")
        return redirect(f"{reverse('results:stage_settings', args=[stage.pk])}#notice-{posted}")
    if request.method == "POST" and posted not in forms:
        flash.error(request, "選考結果（合格・不合格・保留）を選んでから保存してください。")
    return render(request, "results/stage_settings.html", _stage_context(request, stage, forms, posted))


def _following_the_template(company: Company, values: dict[str, Any]) -> dict[str, Any]:
    """Text equal to the 自動送信メール設定 template is stored blank, so it keeps following it."""
    template = automatic.template_for(company, notices.KIND)
    if values["subject"].strip() == template.subject.strip() and values["body"].strip() == template.body.strip():
        return {**values, "subject": "", "body": ""}
    return values


def _as_for(stage: Stage, label: str, text: str) -> str:
    return text.replace("{{選考ステップ}}", stage.name).replace("{{選考結果}}", label)


def _stage_context(request: RecruiterRequest, stage: Stage, forms: dict, posted: str) -> dict:
    company = request_company(request)
    sample = texts.sample_recipient(company)
    sections = []
    for value, label in Outcome.choices:
        form = forms[value]
        notice = notices.notice_for(company, stage, value)
        subject = (form["subject"].value() or "") if value == posted else notice.subject
        body = (form["body"].value() or "") if value == posted else notice.body
        # The sample has no result: show this page's step and result where the email names them.
        subject, body = (_as_for(stage, str(label), text) for text in (subject, body))
        preview = texts.sample_preview(company, subject, body, sample=sample, sender_name=company.name)
        sections.append({"outcome": value, "label": label, "form": form, "notice": notice, "preview": preview})
    return {
        "stage": stage,
        "sections": sections,
        "kind_enabled": automatic.template_for(company, notices.KIND).enabled,
        "placeholder_help": texts.automatic_placeholder_help(notices.AUTOMATIC_KIND.placeholders),
        "sample": sample,
        "other_stages": actions.recordable_stages(company),
    }
