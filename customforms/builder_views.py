"""The recruiter's form builder: the list of forms, a form's settings and fields. Thin: parse,
call an action, render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customforms import actions, uploads
from customforms.answer_forms import AnswerForm
from customforms.forms import FieldForm, FormSettingsForm
from customforms.models import Form, FormField
from hrmos.models import User
from hrmos.tenancy import get_scoped_or_404, request_company, scoped

TABS = {"active": "フォーム", "archived": "アーカイブ"}


def _recruiter(request: HttpRequest) -> User:
    return cast(User, request.user)  # recruiter screens are behind the login middleware


def _form_or_404(request: HttpRequest, form_pk: int) -> Form:
    return get_scoped_or_404(request, Form, pk=form_pk)


def _field_or_404(request: HttpRequest, form_pk: int, form_field_pk: int) -> FormField:
    queryset = FormField.objects.select_related("form").filter(deleted_at__isnull=True)
    return get_scoped_or_404(request, queryset, pk=form_field_pk, form_id=form_pk)


def _with_counts(queryset: QuerySet[Form]) -> QuerySet[Form]:
    return queryset.annotate(
        field_count=Count("fields", filter=Q(fields__deleted_at__isnull=True), distinct=True),
        response_count=Count("responses", distinct=True),
    )


@require_GET
def form_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "active"
    forms = _with_counts(scoped(request, Form).filter(archived_at__isnull=(tab == "active")))
    now = timezone.now()
    rows = [(form, form.status(now)) for form in forms.order_by("-created_at", "-id")]
    archived_count = scoped(request, Form).filter(archived_at__isnull=False).count()
    return render(request, "customforms/form_list.html", {"rows": rows, "tab": tab, "archived_count": archived_count})


@require_http_methods(["GET", "POST"])
def form_create(request: HttpRequest) -> HttpResponse:
    settings_form = FormSettingsForm(request.POST or None)
    if request.method == "POST" and settings_form.is_valid():
        form = actions.create_form(request_company(request), _recruiter(request), **settings_form.cleaned_data)
        messages.success(request, f"「{form.name}」を作成しました。続けて項目を追加してください。")
        return redirect("customforms:detail", form_pk=form.pk)
    return render(request, "customforms/form_settings.html", {"settings_form": settings_form, "is_new": True})


@require_http_methods(["GET", "POST"])
def form_edit(request: HttpRequest, form_pk: int) -> HttpResponse:
    form = _form_or_404(request, form_pk)
    settings_form = FormSettingsForm(request.POST or None, instance=form)
    if request.method == "POST" and settings_form.is_valid():
        actions.update_form(form, **settings_form.cleaned_data)
        messages.success(request, "フォームの設定を保存しました。")
        return redirect("customforms:detail", form_pk=form.pk)
    return render(request, "customforms/form_settings.html", {"settings_form": settings_form, "form": form})


@dataclass(frozen=True)
class FieldRow:
    field: FormField
    answer_count: int
    file_types_label: str


def _builder_context(form: Form) -> dict:
    rows = [
        FieldRow(field, field.answer_count, uploads.types_label(field.file_types))
        for field in form.live_fields().annotate(answer_count=Count("answers"))
    ]
    kinds = [(value, label, FormField.ICONS[value]) for value, label in FormField.Kind.choices]
    return {"form": form, "rows": rows, "field_kinds": kinds}


@require_GET
def form_detail(request: HttpRequest, form_pk: int) -> HttpResponse:
    form = _form_or_404(request, form_pk)
    context = _builder_context(form)
    context["status"] = form.status(timezone.now())
    context["response_count"] = form.responses.count()
    return render(request, "customforms/form_detail.html", context)


@require_POST
def form_publish(request: HttpRequest, form_pk: int) -> HttpResponse:
    form = _form_or_404(request, form_pk)
    published = request.POST.get("published") == "1"
    try:
        actions.set_published(form, published)
    except actions.BuilderError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "フォームを公開しました。" if published else "回答の受付を停止しました。")
    return redirect("customforms:detail", form_pk=form.pk)


@require_POST
def form_copy(request: HttpRequest, form_pk: int) -> HttpResponse:
    copy = actions.copy_form(_form_or_404(request, form_pk), _recruiter(request), timezone.now())
    messages.success(request, f"「{copy.name}」を作成しました（非公開）。内容を確認してから公開してください。")
    return redirect("customforms:detail", form_pk=copy.pk)


@require_http_methods(["GET", "POST"])
def form_delete(request: HttpRequest, form_pk: int) -> HttpResponse:
    form = _form_or_404(request, form_pk)
    if request.method == "POST":
        name = form.name
        if actions.remove_form(form, _recruiter(request), timezone.now()):
            messages.success(request, f"「{name}」には回答があるため、アーカイブしました。回答は引き続き閲覧できます。")
        else:
            messages.success(request, f"「{name}」を削除しました。")
        return redirect("customforms:list")
    context = {"form": form, "response_count": form.responses.count()}
    return render(request, "customforms/form_confirm_delete.html", context)


@require_POST
def form_restore(request: HttpRequest, form_pk: int) -> HttpResponse:
    form = _form_or_404(request, form_pk)
    actions.restore_form(form)
    messages.success(request, f"「{form.name}」をアーカイブから戻しました（非公開）。")
    return redirect("customforms:detail", form_pk=form.pk)


@require_GET
def form_send(request: HttpRequest, form_pk: int) -> HttpResponse:
    """「このフォームを送信」: the candidate list, to choose whom to send it to (its 「フォームを
    送信」 opens the compose screen, where this form is chosen)."""
    form = _form_or_404(request, form_pk)
    if not form.accepts_answers(timezone.now()):
        messages.error(
            request, "回答を受け付けていないフォームは送信できません。公開中で回答期限前のフォームを送信してください。"
        )
        return redirect("customforms:detail", form_pk=form.pk)
    messages.info(
        request,
        f"「{form.name}」を送る候補者にチェックを入れ、「フォームを送信」を押してください。"
        f"送信画面の「フォーム」で「{form.name}」を選びます。",
    )
    return redirect("candidates:list")


@require_GET
def form_preview(request: HttpRequest, form_pk: int) -> HttpResponse:
    """The candidate's page as they will see it, with the submit button switched off."""
    form = _form_or_404(request, form_pk)
    context = {
        "form": form,
        "company": form.company,
        "answer_form": AnswerForm(list(form.live_fields())),
        "preview": True,
    }
    return render(request, "customforms/public/answer.html", context)


# ---------------------------------------------------------------------------- fields


def _kind_from(request: HttpRequest) -> str:
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    return kind if kind in FormField.Kind.values else FormField.Kind.SHORT_TEXT


@require_http_methods(["GET", "POST"])
def field_create(request: HttpRequest, form_pk: int) -> HttpResponse:
    form = _form_or_404(request, form_pk)
    initial = {"kind": _kind_from(request), "max_file_mb": uploads.DEFAULT_SIZE_MB, "file_types": ["pdf"]}
    field_form = FieldForm(request.POST or None, initial=initial)
    if request.method == "POST" and field_form.is_valid():
        try:
            field = actions.add_field(form, **field_form.attributes())
        except actions.BuilderError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"項目「{field.label}」を追加しました。")
            return redirect(reverse("customforms:detail", args=[form.pk]) + f"#field-{field.pk}")
    return render(request, "customforms/field_form.html", {"form": form, "field_form": field_form, "is_new": True})


@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, form_pk: int, form_field_pk: int) -> HttpResponse:
    field = _field_or_404(request, form_pk, form_field_pk)
    answered = field.answers.exists()
    field_form = FieldForm(request.POST or None, instance=field, kind_locked=answered)
    if request.method == "POST" and field_form.is_valid():
        try:
            actions.update_field(field, **field_form.attributes())
        except actions.BuilderError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"項目「{field.label}」を保存しました。")
            return redirect(reverse("customforms:detail", args=[form_pk]) + f"#field-{field.pk}")
    context = {"form": field.form, "field": field, "field_form": field_form, "answered": answered}
    return render(request, "customforms/field_form.html", context)


@require_POST
def field_delete(request: HttpRequest, form_pk: int, form_field_pk: int) -> HttpResponse:
    field = _field_or_404(request, form_pk, form_field_pk)
    try:
        hidden = actions.remove_field(field, timezone.now())
    except actions.BuilderError as error:
        messages.error(request, str(error))
    else:
        if hidden:
            messages.success(
                request, f"項目「{field.label}」を削除しました。これまでの回答は残り、回答一覧に表示されます。"
            )
        else:
            messages.success(request, f"項目「{field.label}」を削除しました。")
    return redirect("customforms:detail", form_pk=form_pk)


@require_POST
def field_move(request: HttpRequest, form_pk: int, form_field_pk: int) -> HttpResponse:
    """Up or down one place. htmx swaps the field list in place; without it, back to the page."""
    field = _field_or_404(request, form_pk, form_field_pk)
    actions.move_field(field, -1 if request.POST.get("direction") == "up" else 1)
    if request.headers.get("HX-Request") == "true":
        context = {**_builder_context(field.form), "moved": field.pk}
        return render(request, "customforms/_field_list.html", context)
    return redirect(reverse("customforms:detail", args=[form_pk]) + f"#field-{field.pk}")
