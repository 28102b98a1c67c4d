"""The LINE管理画面 (/settings/line/): recruiter-only, always the recruiter's own company."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from hrmos.fields import FieldDecryptionError
from hrmos.http import RecruiterRequest
from hrmos.models import AuditEvent, Company
from hrmos.tenancy import request_company
from line_integration.api.client import LineError
from line_integration.api.quota import monthly_quota
from line_integration.api.tokens import IntegrationNotLinked
from line_integration.linking import actions
from line_integration.linking.forms import LineSettingsForm
from line_integration.models import LineIntegration, callback_url, webhook_url

AUDIT_LABELS = {
    "line.linked": ("連携を開始", "link-45deg", "success"),
    "line.credentials_changed": ("設定を変更", "pencil-square", "primary"),
    "line.link_failed": ("連携に失敗", "x-circle", "danger"),
    "line.unlinked": ("連携を解除", "slash-circle", "secondary"),
    "line.unlink_refused": ("解除できず", "exclamation-circle", "warning"),
    "line.webhook_set": ("Webhookを設定", "broadcast", "info"),
    "line.webhook_failed": ("Webhook設定に失敗", "x-circle", "danger"),
}


def _integration(company: Company) -> LineIntegration:
    # No row is created by just looking at the page.
    return LineIntegration.objects.for_company_or_none(company) or LineIntegration(company=company)


def _audit_entries(company: Company) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(company=company, action__startswith="line.").select_related("actor")[:15]
    entries = []
    for event in events:
        label, icon, tone = AUDIT_LABELS.get(event.action, (event.action, "dot", "secondary"))
        entries.append({"event": event, "label": label, "icon": icon, "tone": tone})
    return entries


def _page(
    request: HttpRequest,
    company: Company,
    integration: LineIntegration,
    form: LineSettingsForm | None = None,
    link_error: actions.LinkError | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "integration": integration,
        "form": form or LineSettingsForm(integration=integration),
        "link_error": link_error,
        "invalid_fields": set(link_error.fields) if link_error else set(),
        "callback_url": callback_url(company),
        "webhook_url": webhook_url(company),
        "friend_count": actions.line_friend_count(company) if integration.is_linked else 0,
        "audit_entries": _audit_entries(company),
    }
    return render(request, "line_integration/settings.html", context, status=status)


SECRETS_UNREADABLE = (
    "保存されているLINEのシークレットを読み取れないため、表示できません。LINE連携設定の画面で対処方法をご確認ください。"
)


@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    company = request_company(request)
    try:
        return _page(request, company, _integration(company))
    except FieldDecryptionError:
        # A key rotation that dropped the key the secrets were saved with: say so, and how to recover.
        return render(request, "line_integration/secrets_unreadable.html")


@require_POST
def forget_secrets(request: RecruiterRequest) -> HttpResponse:
    actions.forget_unreadable_secrets(request_company(request), request.user)
    messages.warning(
        request,
        "読み取れなくなったシークレットを消去しました。"
        "LINE Developersコンソールで確認したチャネルシークレットを入力し、「連携する」で保存し直してください。",
    )
    return redirect("line:settings")


@require_POST
@sensitive_post_parameters("messaging_channel_secret", "login_channel_secret")
def link(request: RecruiterRequest) -> HttpResponse:
    company = request_company(request)
    integration = _integration(company)
    was_linked = integration.is_linked
    form = LineSettingsForm(request.POST, integration=integration)
    if not form.is_valid():
        return _page(request, company, integration, form=form)
    try:
        actions.link(company, request.user, form.credentials())
    except actions.LinkError as exc:
        return _page(request, company, _integration(company), form=form, link_error=exc)
    if was_linked:
        messages.success(request, "LINE連携の設定を変更しました。LINEで確認できたため、連携中のままです。")
    else:
        messages.success(request, "LINE連携を開始しました。連携状況が「連携中」になりました。")
    return redirect("line:settings")


@require_POST
def unlink(request: RecruiterRequest) -> HttpResponse:
    company = request_company(request)
    if not _integration(company).is_linked:
        messages.info(request, "LINE連携は開始されていません。")
        return redirect("line:settings")
    try:
        actions.unlink(company, request.user)
    except actions.UnlinkRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "LINE連携を解除しました。チャネル情報とシークレットは削除されました。")
    return redirect("line:settings")


@require_POST
def setup_webhook(request: RecruiterRequest) -> HttpResponse:
    company = request_company(request)
    error = ""
    try:
        actions.setup_webhook(company, request.user)
    except actions.WebhookSetupError as exc:
        error = exc.message
    if request.htmx:
        # The webhook card in place, plus the checklist ("Webhookの利用") and the audit list out of band.
        integration = _integration(company)
        context = {
            "integration": integration,
            "webhook_url": webhook_url(company),
            "webhook_error": error,
            "audit_entries": _audit_entries(company),
            "oob": True,
        }
        html = "".join(
            render_to_string(f"line_integration/{name}.html", context, request=request)
            for name in ("_webhook", "_checklist", "_audit")
        )
        return HttpResponse(html)
    if error:
        messages.error(request, error)
    else:
        integration = _integration(company)
        if integration.webhook_test_success:
            messages.success(request, "Webhook URLを設定し、LINEからの動作確認に成功しました。")
        else:
            messages.warning(
                request, "Webhook URLを設定しましたが、LINEからの動作確認に失敗しました。結果をご確認ください。"
            )
    return redirect("line:settings")


@require_GET
def quota(request: HttpRequest) -> HttpResponse:
    """The month's quota and usage, loaded into the page by htmx (two calls to LINE)."""
    company = request_company(request)
    context: dict[str, Any] = {}
    try:
        context["integration"] = integration = _integration(company)
        context["quota"] = monthly_quota(integration)
    except FieldDecryptionError:
        context["quota_error"] = SECRETS_UNREADABLE
    except IntegrationNotLinked:
        context["quota_error"] = "LINE連携を開始すると表示されます。"
    except LineError:
        context["quota_error"] = "LINEから送信数を取得できませんでした。時間をおいて再度お試しください。"
    return render(request, "line_integration/_quota.html", context)
