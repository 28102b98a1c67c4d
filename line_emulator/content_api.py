"""Message content on api-data.line.me (LINE's "get content" API): content, preview, transcoding."""

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from line_emulator import runtime, samples
from line_emulator.http import json_response, line_api, line_error
from line_emulator.models import Channel, InboundMessage

CONTENT_GONE = "The content is gone"


def _message(channel: Channel, message_id: str) -> InboundMessage | None:
    return InboundMessage.objects.filter(message_id=message_id, channel=channel).exclude(content=None).first()


def _gone(message: InboundMessage) -> bool:
    retention = runtime.setting("content_retention_seconds")
    expired = retention is not None and runtime.now() - message.created_at > timedelta(seconds=retention)
    return message.unsent or expired


def _preparing(message: InboundMessage) -> bool:
    return message.preparing_until is not None and message.preparing_until > runtime.now()


@require_GET
@line_api("GET /v2/bot/message/{messageId}/content")
def content(request: HttpRequest, channel: Channel, message_id: str) -> HttpResponse:
    message = _message(channel, message_id)
    if message is None:
        return line_error(404, "not found")
    if _gone(message):
        return line_error(410, CONTENT_GONE)
    if _preparing(message):
        return HttpResponse(b"", status=202)
    return HttpResponse(bytes(message.content or b""), content_type=message.content_type or "application/octet-stream")


@require_GET
@line_api("GET /v2/bot/message/{messageId}/content/preview")
def preview(request: HttpRequest, channel: Channel, message_id: str) -> HttpResponse:
    message = _message(channel, message_id)
    if message is None:
        return line_error(404, "not found")
    if message.type not in ("image", "video"):
        return line_error(400, "The content can not be previewed")
    if _gone(message):
        return line_error(410, CONTENT_GONE)
    if message.type == "image":
        return HttpResponse(bytes(message.content or b""), content_type=message.content_type or "image/jpeg")
    return HttpResponse(samples.png(120, 80, (60, 60, 60)), content_type="image/png")


@require_GET
@line_api("GET /v2/bot/message/{messageId}/content/transcoding")
def transcoding(request: HttpRequest, channel: Channel, message_id: str) -> HttpResponse:
    message = _message(channel, message_id)
    if message is None:
        return line_error(404, "not found")
    if message.type not in ("video", "audio"):
        return line_error(400, "The content is not a video or audio")
    if _gone(message):
        return line_error(410, CONTENT_GONE)
    if _preparing(message):
        return json_response({"status": "processing"})
    return json_response({"status": "failed" if message.transcoding_failed else "succeeded"})
