"""Template helpers for received messages (timeline partials and the inbox)."""

from urllib.parse import urlencode

from django import template
from django.conf import settings

from messaging.models import Message
from messaging.receiving.views import INLINE_IMAGE_TYPES
from messaging.timeline.views import inbound_partial

register = template.Library()

STICKER_PATH = "/stickershop/v1/sticker/{}/android/sticker.png"
MAP_URL = "https://www.google.com/maps/search/?"

CONTENT_LABELS: dict[str, str] = {
    Message.ContentType.STICKER: "スタンプ",
    Message.ContentType.IMAGE: "画像",
    Message.ContentType.VIDEO: "動画",
    Message.ContentType.AUDIO: "音声",
    Message.ContentType.FILE: "ファイル",
    Message.ContentType.LOCATION: "位置情報",
    Message.ContentType.UNKNOWN: "メッセージ",
}
CONTENT_ICONS: dict[str, str] = {
    Message.ContentType.TEXT: "chat-text",
    Message.ContentType.STICKER: "emoji-smile",
    Message.ContentType.IMAGE: "image",
    Message.ContentType.VIDEO: "camera-video",
    Message.ContentType.AUDIO: "mic",
    Message.ContentType.FILE: "file-earmark",
    Message.ContentType.LOCATION: "geo-alt",
    Message.ContentType.UNKNOWN: "question-circle",
}


@register.filter
def sticker_url(message: Message) -> str:
    """The sticker's picture on LINE_STICKER_BASE (digits only; anything else gets no image)."""
    if not message.sticker_id.isdigit():
        return ""
    return settings.LINE_STICKER_BASE + STICKER_PATH.format(message.sticker_id)


@register.filter
def map_url(message: Message) -> str:
    extra = message.extra or {}
    latitude, longitude = extra.get("latitude"), extra.get("longitude")
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        return ""
    return MAP_URL + urlencode({"api": 1, "query": f"{latitude},{longitude}"})


@register.filter
def content_partial(message: Message) -> str:
    """The template that shows an incoming message's content (see timeline.views.inbound_partial)."""
    return inbound_partial(message.channel, message.content_type)


@register.filter
def content_icon(message: Message) -> str:
    return CONTENT_ICONS.get(message.content_type, "chat")


@register.filter
def is_inline_image(attachment: object) -> bool:
    return getattr(attachment, "content_type", "").split(";")[0].strip().lower() in INLINE_IMAGE_TYPES


@register.filter
def duration(milliseconds: object) -> str:
    if not isinstance(milliseconds, int) or milliseconds < 0:
        return ""
    seconds = milliseconds // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


@register.filter
def preview(message: Message) -> str:
    """One line for the inbox: the text, or what kind of content it was."""
    if message.unsent_at:
        return "（候補者が送信を取り消しました）"
    if message.channel == "email":
        return " ".join(part for part in (message.subject, message.body) if part)
    if message.content_type == Message.ContentType.TEXT:
        return message.body
    label = CONTENT_LABELS.get(message.content_type, "メッセージ")
    name = message.file_name or message.body
    return f"［{label}］{name}" if name else f"［{label}］"
