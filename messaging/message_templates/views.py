"""メッセージテンプレート: the company's list, create / edit / copy / delete, the text a compose
screen's picker fills in (JSON), and the editor's live preview (htmx)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hrmos.http import RecruiterRequest
from hrmos.tenancy import get_scoped_or_404, request_company, scoped
from messaging import rendering
from messaging.message_templates import actions, texts
from messaging.message_templates.forms import BODY_MAX, MessageTemplateForm
from messaging.models import MessageTemplate

PAGE_SIZE = 50
SEARCH_MAX = 100


@require_GET
def template_list(request: RecruiterRequest) -> HttpResponse:
    templates = scoped(request, MessageTemplate).select_related("updated_by")
    category = request.GET.get("category", "")
    category = category if category in MessageTemplate.Category.values else ""
    query = request.GET.get("q", "").replace("\x00", "").strip()[:SEARCH_MAX]
    total = templates.count()
    if category:
        templates = templates.filter(category=category)
    if query:
        templates = templates.filter(Q(name__icontains=query) | Q(subject__icontains=query))
    page = Paginator(templates, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "messaging/message_templates/list.html",
        {
            "page": page,
            "total": total,
            "category": category,
            "query": query,
            "categories": MessageTemplate.Category.choices,
            "tab": "templates",
        },
    )


def _editor(
    request: RecruiterRequest,
    form: MessageTemplateForm,
    *,
    title: str,
    template: MessageTemplate | None = None,
    copied_from: MessageTemplate | None = None,
) -> HttpResponse:
    company = request_company(request)
    subject = form["subject"].value() or ""
    body = form["body"].value() or ""
    sample = texts.sample_recipient(company)
    return render(
        request,
        "messaging/message_templates/form.html",
        {
            "form": form,
            "title": title,
            "template": template,
            "copied_from": copied_from,
            "groups": texts.template_placeholder_groups(),
            "sample": sample,
            "preview": _preview(request, subject, body, sample),
            "preview_unknown": rendering.unknown_placeholders(subject, body),
            "tab": "templates",
        },
    )


def _preview(request: RecruiterRequest, subject: str, body: str, sample: texts.Sample) -> texts.Preview:
    return texts.sample_preview(
        request_company(request),
        subject,
        body,
        sample=sample,
        sender_name=request.user.display_name,
        sender_department=request.user.department,
    )


def _save(request: RecruiterRequest, form: MessageTemplateForm, *, copied_from: MessageTemplate | None = None) -> bool:
    """Save a valid form; False (with the form's error) when the name was taken meanwhile."""
    template = form.save(commit=False)
    template.company = request_company(request)
    try:
        actions.save_template(template, user=request.user, copied_from=copied_from)
    except actions.DuplicateName:
        form.add_error("name", "同じ名前のテンプレートがすでにあります。別の名前を付けてください。")
        return False
    return True


@require_http_methods(["GET", "POST"])
def template_create(request: RecruiterRequest) -> HttpResponse:
    company = request_company(request)
    form = MessageTemplateForm(request.POST or None, company=company)
    if request.method == "POST" and form.is_valid() and _save(request, form):
        flash.success(request, f"テンプレート「{form.instance.name}」を作成しました。")
        return redirect("messaging:template_list")
    return _editor(request, form, title="テンプレートを作成")


def copy_name(name: str, taken: set[str]) -> str:
    """「〇〇のコピー」, numbered when the company already has one by that name."""
    limit = MessageTemplate._meta.get_field("name").max_length or 100
    candidate = f"{name}のコピー"
    number = 2
    while candidate[:limit] in taken:
        candidate = f"{name}のコピー（{number}）"
        number += 1
    return candidate[:limit]


@require_http_methods(["GET", "POST"])
def template_copy(request: RecruiterRequest, message_template_pk: int) -> HttpResponse:
    """A new template starting from another one's text; nothing is created until it is saved."""
    source = get_scoped_or_404(request, MessageTemplate, pk=message_template_pk)
    company = request_company(request)
    if request.method == "POST":
        form = MessageTemplateForm(request.POST, company=company)
        if form.is_valid() and _save(request, form, copied_from=source):
            flash.success(request, f"テンプレート「{form.instance.name}」を作成しました。")
            return redirect("messaging:template_list")
    else:
        taken = set(scoped(request, MessageTemplate).values_list("name", flat=True))
        form = MessageTemplateForm(
            company=company,
            initial={
                "name": copy_name(source.name, taken),
                "category": source.category,
                "subject": source.subject,
                "body": source.body,
            },
        )
    return _editor(request, form, title="テンプレートをコピーして作成", copied_from=source)


@require_http_methods(["GET", "POST"])
def template_edit(request: RecruiterRequest, message_template_pk: int) -> HttpResponse:
    template = get_scoped_or_404(request, MessageTemplate, pk=message_template_pk)
    form = MessageTemplateForm(request.POST or None, instance=template, company=request_company(request))
    if request.method == "POST" and form.is_valid() and _save(request, form):
        flash.success(request, f"テンプレート「{template.name}」を保存しました。")
        return redirect("messaging:template_list")
    return _editor(request, form, title="テンプレートを編集", template=template)


@require_POST
def template_delete(request: RecruiterRequest, message_template_pk: int) -> HttpResponse:
    template = get_scoped_or_404(request, MessageTemplate, pk=message_template_pk)
    name = template.name
    actions.delete_template(template, user=request.user)
    flash.success(request, f"テンプレート「{name}」を削除しました。")
    return redirect("messaging:template_list")


@require_GET
def template_content(request: RecruiterRequest, message_template_pk: int) -> JsonResponse:
    """What a compose screen's picker fills in: the saved subject and body, as typed (compose
    renders and checks the placeholders for the real recipients)."""
    template = get_scoped_or_404(request, MessageTemplate, pk=message_template_pk)
    return JsonResponse({"name": template.name, "subject": template.subject, "body": template.body})


@require_POST
def template_preview(request: RecruiterRequest) -> HttpResponse:
    """htmx: the editor's text for the sample candidate, while typing."""
    subject = request.POST.get("subject", "")[:300]
    body = request.POST.get("body", "")[:BODY_MAX]
    sample = texts.sample_recipient(request_company(request))
    return render(
        request,
        "messaging/message_templates/_preview.html",
        {
            "preview": _preview(request, subject, body, sample),
            "preview_unknown": rendering.unknown_placeholders(subject, body),
            "sample": sample,
        },
    )
