"""A persona's phone: the chats with Official Accounts, where a person plays the candidate in the demo.

Plain forms (send text, sticker, image, PDF, location, unsend, block/unblock) that work without
JavaScript; the message list refreshes itself with htmx every 2 seconds.
"""

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from line_emulator import actions, conversations, samples
from line_emulator.models import Channel, Friendship, InboundMessage, OutboxMessage, Persona

JST = ZoneInfo("Asia/Tokyo")
# LINE's own sticker ids have no pictures here: each shows as a coloured icon (works without emoji fonts).
STICKERS = [
    ("446", "1988", "emoji-laughing-fill", 1),
    ("446", "1989", "emoji-heart-eyes-fill", 2),
    ("446", "1990", "balloon-heart-fill", 3),
    ("446", "1991", "hand-thumbs-up-fill", 4),
    ("446", "1992", "emoji-tear-fill", 5),
    ("446", "1993", "stars", 6),
    ("446", "1994", "cup-hot-fill", 7),
    ("446", "1995", "heart-fill", 8),
]
STICKER_ICONS = {(package, sticker): (icon, color) for package, sticker, icon, color in STICKERS}
TYPE_LABELS = {
    "video": "動画",
    "audio": "音声",
    "imagemap": "イメージマップ",
    "flex": "Flexメッセージ",
    "template": "テンプレートメッセージ",
    "coupon": "クーポン",
}
CHAT_LIMIT = 200


def _persona(persona_id: str) -> Persona:
    persona = Persona.objects.filter(persona_id=persona_id).first()
    if persona is None:
        raise Http404
    return persona


def _oa(channel_id: str) -> Channel:
    channel = Channel.objects.select_related("provider").filter(channel_id=channel_id, kind=Channel.MESSAGING).first()
    if channel is None:
        raise Http404
    return channel


def _sticker(message: dict[str, Any]) -> dict[str, Any]:
    icon, color = STICKER_ICONS.get(
        (str(message.get("packageId")), str(message.get("stickerId"))), ("emoji-smile-fill", 1)
    )
    return {"kind": "sticker", "icon": icon, "color": color}


def _actions(actions_: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "label": action.get("label") or action.get("text") or "選択",
            "type": action.get("type"),
            "text": action.get("text") or action.get("displayText") or action.get("label") or "",
            "data": action.get("data", ""),
            "uri": action.get("uri", ""),
        }
        for action in actions_
        if isinstance(action, dict)
    ]


def _oa_bubble(message: dict[str, Any]) -> dict[str, Any]:
    """How a message object the app sent looks in the chat."""
    kind = message.get("type")
    if kind in ("text", "textV2"):
        return {"kind": "text", "text": message.get("text", "")}
    if kind == "sticker":
        return _sticker(message)
    if kind == "image":
        return {"kind": "image", "url": message.get("previewImageUrl") or message.get("originalContentUrl")}
    if kind == "location":
        return {"kind": "location", "title": message.get("title", ""), "address": message.get("address", "")}
    if kind == "template":
        template = message.get("template") or {}
        return {
            "kind": "template",
            "title": template.get("title", ""),
            "text": template.get("text") or message.get("altText", ""),
            "actions": _actions(template.get("actions") or []),
        }
    return {"kind": "card", "label": TYPE_LABELS.get(str(kind), str(kind)), "text": message.get("altText", "")}


def _my_bubble(message: InboundMessage, persona: Persona) -> dict[str, Any]:
    """How a message the persona sent looks in the chat."""
    body = message.body
    if message.unsent:
        return {"kind": "unsent"}
    if message.type == "text":
        return {"kind": "text", "text": message.text}
    if message.type == "sticker":
        return _sticker(body)
    if message.type == "image":
        return {"kind": "image", "url": reverse("media", args=[persona.persona_id, message.message_id])}
    if message.type == "location":
        return {"kind": "location", "title": body.get("title", ""), "address": body.get("address", "")}
    name = message.file_name or TYPE_LABELS.get(message.type, message.type)
    return {"kind": "file", "name": name, "size": body.get("fileSize")}


def chat_items(channel: Channel, persona: Persona) -> list[dict[str, Any]]:
    """The conversation, oldest first: OA messages on the left, the persona's on the right."""
    items: list[dict[str, Any]] = []
    outbox = OutboxMessage.objects.filter(channel=channel, persona=persona, delivered=True)
    for row in outbox.order_by("-created_at", "-pk")[:CHAT_LIMIT]:
        for message in row.messages:
            items.append({"side": "oa", "at": row.created_at, **_oa_bubble(message)})
    inbound = InboundMessage.objects.filter(channel=channel, persona=persona).defer("content")
    for message in inbound.order_by("-created_at")[:CHAT_LIMIT]:
        bubble = _my_bubble(message, persona)
        items.append(
            {
                "side": "me",
                "at": message.created_at,
                "message_id": message.message_id,
                "unsent": message.unsent,
                **bubble,
            }
        )
    items.sort(key=lambda item: (item["at"], item["side"] == "me"))
    items = items[-CHAT_LIMIT:]
    previous_day = None
    for item in items:
        local: datetime = item["at"].astimezone(JST)
        item["time"] = local.strftime("%H:%M")
        day = local.strftime("%Y/%m/%d")
        item["day"] = day if day != previous_day else ""
        previous_day = day
    return items


def _quick_replies(channel: Channel, persona: Persona) -> list[dict[str, Any]]:
    """The quick-reply buttons of the OA's latest message, if it has any and the persona has not answered."""
    last = (
        OutboxMessage.objects.filter(channel=channel, persona=persona, delivered=True).order_by("-created_at").first()
    )
    if (
        last is None
        or InboundMessage.objects.filter(channel=channel, persona=persona, created_at__gt=last.created_at).exists()
    ):
        return []
    quick = (last.messages[-1].get("quickReply") or {}) if last.messages else {}
    return _actions([item.get("action") for item in quick.get("items") or [] if isinstance(item, dict)])


@require_GET
@csrf_protect
def home(request: HttpRequest, persona_id: str) -> HttpResponse:
    persona = _persona(persona_id)
    states = dict(Friendship.objects.filter(persona=persona).values_list("channel_id", "state"))
    chats, others = [], []
    for channel in Channel.objects.filter(kind=Channel.MESSAGING).select_related("provider").order_by("created_at"):
        items = chat_items(channel, persona)
        state = states.get(channel.channel_id)
        if state or items:
            last = items[-1] if items else None
            chats.append({"channel": channel, "state": state, "last": last})
        else:
            others.append(channel)
    context = {"nav": "personas", "persona": persona, "chats": chats, "others": others}
    return render(request, "line_emulator/phone/home.html", context)


def _chat_context(request: HttpRequest, persona: Persona, channel: Channel) -> dict[str, Any]:
    return {
        "nav": "personas",
        "persona": persona,
        "channel": channel,
        "state": actions.friend_state(channel, persona),
        "items": chat_items(channel, persona),
        "quick_replies": _quick_replies(channel, persona),
        "stickers": STICKERS,
        "user_id": actions.user_id_of(channel.provider, persona),
        "error": request.GET.get("error", ""),
    }


@require_GET
@csrf_protect
def chat(request: HttpRequest, persona_id: str, channel_id: str) -> HttpResponse:
    context = _chat_context(request, _persona(persona_id), _oa(channel_id))
    return render(request, "line_emulator/phone/chat.html", context)


@require_GET
def messages(request: HttpRequest, persona_id: str, channel_id: str) -> HttpResponse:
    """The message list alone, for htmx polling."""
    persona, channel = _persona(persona_id), _oa(channel_id)
    context = {"persona": persona, "channel": channel, "items": chat_items(channel, persona)}
    return render(request, "line_emulator/phone/_messages.html", context)


@require_GET
def media(request: HttpRequest, persona_id: str, message_id: str) -> HttpResponse:
    message = InboundMessage.objects.filter(message_id=message_id, persona_id=persona_id).first()
    if message is None or message.content is None:
        raise Http404
    return HttpResponse(bytes(message.content), content_type=message.content_type or "application/octet-stream")


def _uploaded(request: HttpRequest) -> tuple[bytes, str, str] | None:
    upload = request.FILES.get("file")
    if upload is None:
        return None
    return upload.read(), upload.content_type or "application/octet-stream", upload.name or ""


def _spec(request: HttpRequest, persona: Persona, action: str) -> dict[str, Any] | None:
    """What the persona sends for one button of the phone."""
    form = request.POST
    if action == "send-text":
        text = form.get("text", "").strip()
        return {"type": "text", "text": text} if text else None
    if action == "send-sticker":
        return {"type": "sticker", "package_id": form.get("package_id"), "sticker_id": form.get("sticker_id")}
    if action == "send-location":
        return {"type": "location", "title": "東京駅", "address": "東京都千代田区丸の内1丁目", "latitude": 35.681236,
                "longitude": 139.767125}  # fmt: skip
    if action == "send-image":
        return {"type": "image", "content": samples.png(), "content_type": "image/png"}
    if action == "send-pdf":
        name = f"履歴書_{persona.display_name.replace(' ', '')}.pdf"
        return {"type": "file", "content": samples.pdf("Resume"), "file_name": name, "content_type": "application/pdf"}
    if action == "attach":
        uploaded = _uploaded(request)
        if uploaded is None:
            return None
        content, content_type, name = uploaded
        kind = "image" if content_type.startswith("image/") else "file"
        return {"type": kind, "content": content, "content_type": content_type, "file_name": name}
    raise Http404


@require_POST
@csrf_protect
def act(request: HttpRequest, persona_id: str, channel_id: str, action: str) -> HttpResponse:
    persona, channel = _persona(persona_id), _oa(channel_id)
    url = reverse("chat", args=[persona_id, channel_id])
    try:
        if action in ("follow", "block", "unblock"):
            getattr(actions, action)(channel, persona)
        elif action == "unsend":
            conversations.unsend(channel, persona, request.POST.get("message_id", ""))
        elif action == "postback":
            if request.POST.get("text"):
                conversations.send_message(channel, persona, {"type": "text", "text": request.POST["text"]})
            conversations.postback(channel, persona, request.POST.get("data", ""))
        else:
            spec = _spec(request, persona, action)
            if spec is not None:
                conversations.send_message(channel, persona, spec)
    except actions.ActionError as problem:
        return HttpResponseRedirect(f"{url}?{urlencode({'error': str(problem)})}")
    return HttpResponseRedirect(url)
