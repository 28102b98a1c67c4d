"""The emulator's LINE Developers console: providers, channels, their settings, logs and personas.

Labels follow the real LINE Developers console's Japanese labels, so the demo walks the same steps.
"""

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from line_emulator import actions, runtime, web_pages, webhooks
from line_emulator.messaging_api import valid_webhook_url
from line_emulator.models import Channel, Friendship, OutboxMessage, Persona, Provider, WebhookAttempt

NOTICES = {
    "provider": "プロバイダーを作成しました。",
    "channel": "チャネルを作成しました。",
    "webhook-url": "Webhook URLを更新しました。",
    "webhook-active": "「Webhookの利用」を更新しました。",
    "redelivery": "「Webhookの再送」を更新しました。",
    "token": "チャネルアクセストークン（長期）を発行しました。",
    "quota": "メッセージ通数の設定を更新しました。",
    "chat-mode": "応答設定を更新しました。",
    "callback-urls": "コールバックURLを更新しました。",
    "publish": "チャネルを公開しました。",
    "develop": "チャネルを開発中に戻しました。",
    "linked-oa": "リンクされたLINE公式アカウントを更新しました。",
    "email": "メールアドレス取得権限を更新しました。",
    "roles": "ロールを更新しました。",
    "persona": "LINEユーザーを作成しました。",
    "settings": "エミュレーターの設定を更新しました。",
    "clock": "時計を進めました。",
    "reset": "すべてのデータを削除しました。",
}
MESSAGING_TABS = [
    ("basic", "チャネル基本設定"),
    ("messaging", "Messaging API設定"),
    ("friends", "友だち"),
    ("webhook-log", "Webhook送信履歴"),
    ("outbox", "送信メッセージ"),
]
LOGIN_TABS = [("basic", "チャネル基本設定"), ("login", "LINEログイン設定"), ("roles", "ロール")]


def _notice(request: HttpRequest) -> str:
    return NOTICES.get(request.GET.get("done", ""), "")


def _back(url: str, **query: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{url}?{urlencode(query)}" if query else url)


@require_http_methods(["GET", "POST"])
@csrf_protect
def home(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            provider = actions.create_provider(request.POST.get("name", ""))
            return _back(reverse("provider", args=[provider.pk]), done="provider")
        except actions.ActionError as problem:
            error = str(problem)
    providers = []
    for provider in Provider.objects.order_by("pk"):
        channels = list(provider.channels.order_by("kind", "created_at"))
        providers.append({"provider": provider, "channels": channels})
    context = {
        "nav": "console",
        "providers": providers,
        "personas": Persona.objects.order_by("created_at")[:8],
        "notice": _notice(request),
        "error": error,
        "base_url": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, "line_emulator/console/home.html", context, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
@csrf_protect
def provider(request: HttpRequest, provider_id: int) -> HttpResponse:
    found = Provider.objects.filter(pk=provider_id).first()
    if found is None:
        raise Http404
    error = ""
    if request.method == "POST":
        kind = request.POST.get("type")
        name = request.POST.get("name", "").strip()
        description = request.POST.get("description", "")
        if not name:
            error = "チャネル名を入力してください。"
        elif kind == Channel.MESSAGING:
            channel = actions.create_messaging_channel(found, name, display_name=name, description=description)
            return _back(reverse("channel", args=[channel.channel_id]), done="channel")
        elif kind == Channel.LOGIN:
            channel = actions.create_login_channel(found, name, description=description)
            return _back(reverse("channel", args=[channel.channel_id]), done="channel")
        else:
            error = "チャネルの種類を選んでください。"
    context = {
        "nav": "console",
        "provider": found,
        "channels": found.channels.order_by("kind", "created_at"),
        "notice": _notice(request),
        "error": error,
    }
    return render(request, "line_emulator/console/provider.html", context, status=400 if error else 200)


def _friends(channel: Channel) -> list[dict[str, Any]]:
    states = dict(Friendship.objects.filter(channel=channel).values_list("persona_id", "state"))
    return [
        {"persona": persona, "user_id": actions.user_id_of(channel.provider, persona), "state": states.get(persona.pk)}
        for persona in Persona.objects.order_by("created_at")
    ]


@require_http_methods(["GET"])
@csrf_protect
def channel(request: HttpRequest, channel_id: str) -> HttpResponse:
    found = Channel.objects.select_related("provider", "linked_oa").filter(channel_id=channel_id).first()
    if found is None:
        raise Http404
    tabs = MESSAGING_TABS if found.is_messaging else LOGIN_TABS
    tab = request.GET.get("tab") or "basic"
    if tab not in dict(tabs):
        tab = "basic"
    context: dict[str, Any] = {
        "nav": "console",
        "channel": found,
        "provider": found.provider,
        "tabs": tabs,
        "tab": tab,
        "notice": _notice(request),
        "error": request.GET.get("error", ""),
        "verify": request.GET.get("verify"),
        "verify_detail": request.GET.get("detail", ""),
    }
    if found.is_messaging:
        context.update(
            usage=actions.monthly_usage(found),
            long_lived_token=actions.long_lived_token(found),
            add_friend_url=f"https://line.me{web_pages.add_friend_path(found.basic_id)}",
            emulated_add_friend_url=request.build_absolute_uri(web_pages.add_friend_path(found.basic_id)),
            linked_logins=Channel.objects.filter(linked_oa=found),
        )
        if tab == "friends":
            context["friends"] = _friends(found)
        elif tab == "webhook-log":
            context["attempts"] = WebhookAttempt.objects.filter(channel=found).order_by("-started_at", "-pk")[:100]
        elif tab == "outbox":
            rows = OutboxMessage.objects.filter(channel=found).select_related("persona").order_by("-created_at", "-pk")
            context["outbox"] = rows[:100]
    else:
        context.update(
            linkable=Channel.objects.filter(provider=found.provider, kind=Channel.MESSAGING).order_by("created_at"),
            personas=Persona.objects.order_by("created_at"),
            roles=set(found.role_personas.values_list("persona_id", flat=True)),
            callback_text="\n".join(found.callback_urls),
        )
    return render(request, "line_emulator/console/channel.html", context)


@require_POST
@csrf_protect
def channel_action(request: HttpRequest, channel_id: str, action: str) -> HttpResponse:
    found = Channel.objects.select_related("provider").filter(channel_id=channel_id).first()
    if found is None:
        raise Http404
    url = reverse("channel", args=[channel_id])
    form = request.POST
    tab = form.get("tab", "basic")
    try:
        if action == "verify":
            target = form.get("webhook_url") or found.webhook_url
            if not target:
                return _back(url, tab=tab, error="Webhook URLが設定されていません。")
            result = webhooks.test_endpoint(found, target)
            return _back(url, tab=tab, verify="ok" if result["success"] else "ng", detail=_verify_detail(result))
        changes = _changes(found, action, form)
    except (actions.ActionError, ValueError) as problem:
        return _back(url, tab=tab, error=str(problem))
    if changes is None:
        raise Http404
    actions.update_channel(found, changes)
    return _back(url, tab=tab, done=action)


def _verify_detail(result: dict[str, Any]) -> str:
    if result["success"]:
        return f"成功（HTTP {result['statusCode']}）"
    return f"{result['reason']}（HTTP {result['statusCode']}）{result['detail'][:200]}"


def _changes(channel: Channel, action: str, form: Any) -> dict[str, Any] | None:
    """The channel fields one console form changes, checked as the real console checks them."""
    if action == "webhook-url":
        url = form.get("webhook_url", "").strip()
        if url and not valid_webhook_url(url):
            raise actions.ActionError("Webhook URLはHTTPS（エミュレーターではhttp://localhostも可）で500文字以内です。")
        return {"webhook_url": url}
    if action == "webhook-active":
        return {"webhook_active": form.get("on") == "1"}
    if action == "redelivery":
        turning_on = form.get("on") == "1"
        if turning_on and form.get("understood") != "on":
            raise actions.ActionError("「上記の内容を読み、理解しました。」にチェックを入れてください。")
        return {"redelivery_enabled": turning_on}
    if action == "token":
        actions.issue_long_lived_token(channel)
        return {}
    if action == "quota":
        limit = form.get("quota_value", "").strip()
        quota = {"type": "limited", "value": int(limit)} if limit else {"type": "none"}
        return {"quota": quota, "monthly_usage": int(form.get("monthly_usage") or 0)}
    if action == "chat-mode":
        return {"chat_mode": form.get("chat_mode", "bot")}
    if action == "callback-urls":
        urls = [line.strip() for line in form.get("callback_urls", "").splitlines() if line.strip()]
        if any(not line.startswith(("https://", "http://")) for line in urls):
            raise actions.ActionError("コールバックURLは http:// または https:// で始めてください。")
        return {"callback_urls": urls}
    if action in ("publish", "develop"):
        return {"status": Channel.PUBLISHED if action == "publish" else Channel.DEVELOPING}
    if action == "linked-oa":
        return {"linked_oa": form.get("linked_oa") or None}
    if action == "email":
        return {"email_permission": form.get("on") == "1"}
    if action == "roles":
        return {"role_personas": form.getlist("persona_id")}
    return None


@require_http_methods(["GET", "POST"])
@csrf_protect
def personas(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            actions.create_persona(
                request.POST.get("display_name", ""),
                request.POST.get("persona_id") or None,
                email=request.POST.get("email", ""),
                status_message=request.POST.get("status_message", ""),
            )
            return _back(reverse("personas"), done="persona")
        except actions.ActionError as problem:
            error = str(problem)
    context = {
        "nav": "personas",
        "personas": Persona.objects.order_by("created_at"),
        "providers": Provider.objects.order_by("pk"),
        "notice": _notice(request),
        "error": error,
    }
    return render(request, "line_emulator/console/personas.html", context, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
@csrf_protect
def emulator_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = request.POST
        action = form.get("action")
        if action == "reset":
            actions.reset_all()
        elif action == "clock":
            runtime.advance_clock(float(form.get("advance_seconds") or 0))
        else:
            runtime.update_settings(
                {
                    "follow_webhook_delay_ms": int(form.get("follow_webhook_delay_ms") or 0),
                    "webhook_timeout_ms": int(form.get("webhook_timeout_ms") or 2000),
                    "redelivery": {
                        "count": int(form.get("redelivery_count") or 0),
                        "interval_ms": int(form.get("redelivery_interval_ms") or 0),
                    },
                    "chaos": {
                        "duplicate": form.get("chaos_duplicate") == "on",
                        "shuffle": form.get("chaos_shuffle") == "on",
                        "delay_ms": int(form.get("chaos_delay_ms") or 0),
                    },
                    "allow_http_webhooks": form.get("allow_http_webhooks") == "on",
                }
            )
            action = "settings"
        return _back(reverse("settings"), done=action or "settings")
    context = {
        "nav": "settings",
        "settings": runtime.all_settings(),
        "now": runtime.now(),
        "offset": runtime.offset_seconds(),
        "faults": runtime.list_faults(),
        "notice": _notice(request),
    }
    return render(request, "line_emulator/console/settings.html", context)
