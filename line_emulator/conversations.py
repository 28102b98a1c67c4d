"""Messages between personas and Official Accounts.

What a persona sends is stored (with its content) and becomes a webhook event; what the app
sends lands in the outbox, one row per recipient.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from line_emulator import ids, runtime, sql
from line_emulator.actions import ActionError, NotFoundError, add_usage, friend_state, user_id_of
from line_emulator.models import Channel, Friendship, InboundMessage, Persona, WebhookEvent
from line_emulator.store import writing
from line_emulator.validation import QUOTABLE_TYPES
from line_emulator.webhooks import emit

STICKER_RESOURCE_TYPES = {
    "STATIC",
    "ANIMATION",
    "SOUND",
    "ANIMATION_SOUND",
    "POPUP",
    "POPUP_SOUND",
    "CUSTOM",
    "MESSAGE",
}
CONTENT_TYPES = {"image", "video", "audio", "file"}


# Messages from personas -------------------------------------------------------------------------


@dataclass
class Sent:
    message: InboundMessage | None
    event: WebhookEvent


def _content_fields(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    content = spec.get("content")
    if not isinstance(content, bytes | bytearray) or not content:
        raise ActionError(f"a {kind} message needs content")
    fields: dict[str, Any] = {
        "content": bytes(content),
        "content_type": spec.get("content_type") or {"image": "image/jpeg", "video": "video/mp4"}.get(kind, ""),
        "file_name": spec.get("file_name") or "",
    }
    if kind == "file":
        if not fields["file_name"]:
            raise ActionError("a file message needs file_name")
        fields["content_type"] = fields["content_type"] or "application/octet-stream"
    if kind in ("video", "audio") and spec.get("preparing_seconds"):
        fields["preparing_until"] = runtime.now() + timedelta(seconds=float(spec["preparing_seconds"]))
    if kind in ("video", "audio"):
        fields["transcoding_failed"] = bool(spec.get("transcoding_failed"))
    return fields


def _message_object(kind: str, message_id: str, spec: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": message_id, "type": kind}
    if kind == "text":
        text = spec.get("text")
        if not isinstance(text, str) or not text:
            raise ActionError("a text message needs text")
        body["text"] = text
        if spec.get("quoted_message_id"):
            body["quotedMessageId"] = str(spec["quoted_message_id"])
    elif kind == "sticker":
        resource = spec.get("sticker_resource_type") or "STATIC"
        if resource not in STICKER_RESOURCE_TYPES:
            raise ActionError(f"sticker_resource_type must be one of {sorted(STICKER_RESOURCE_TYPES)}")
        body.update(
            packageId=str(spec.get("package_id") or "446"),
            stickerId=str(spec.get("sticker_id") or "1988"),
            stickerResourceType=resource,
        )
        if spec.get("keywords"):
            body["keywords"] = list(spec["keywords"])[:15]
        if spec.get("text"):
            body["text"] = str(spec["text"])[:100]
    elif kind in ("image", "video"):
        body["contentProvider"] = {"type": "line"}
        if kind == "video":
            body["duration"] = int(spec.get("duration_ms") or 10_000)
    elif kind == "audio":
        body.update(contentProvider={"type": "line"}, duration=int(spec.get("duration_ms") or 10_000))
    elif kind == "file":
        body.update(fileName=fields["file_name"], fileSize=len(fields["content"]))
    elif kind == "location":
        try:
            body.update(latitude=float(spec["latitude"]), longitude=float(spec["longitude"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ActionError("a location message needs numeric latitude and longitude") from error
        body.update(title=str(spec.get("title") or "位置情報"), address=str(spec.get("address") or ""))
    else:
        raise ActionError("type must be one of text, sticker, image, video, audio, file, location")
    if kind in QUOTABLE_TYPES:
        body["quoteToken"] = ids.quote_token()
    body["markAsReadToken"] = ids.opaque(24)
    return body


def send_message(channel: Channel, persona: Persona, spec: dict[str, Any]) -> Sent:
    """The persona sends a message to the OA: store it (and its content), emit a message event."""
    if not channel.is_messaging:
        raise ActionError("messages go to Messaging API channels")
    kind = spec.get("type", "")
    if friend_state(channel, persona) == Friendship.BLOCKED:
        raise ActionError("ブロック中のアカウントにはメッセージを送れません。")
    fields = _content_fields(kind, spec) if kind in CONTENT_TYPES else {}
    message_id = ids.message_id()
    body = _message_object(kind, message_id, spec, fields)
    with writing():
        message = InboundMessage.objects.create(
            message_id=message_id,
            channel=channel,
            persona=persona,
            type=kind,
            text=body.get("text", "") if kind == "text" else "",
            body=body,
            created_at=runtime.now(),
            **fields,
        )
        fields_ = {"message": body}
        event = emit(channel, persona, user_id_of(channel.provider, persona), "message", fields_, replyable=True)
    return Sent(message, event)


def unsend(channel: Channel, persona: Persona, message_id: str) -> Sent:
    with writing():
        message = InboundMessage.objects.filter(message_id=message_id, channel=channel, persona=persona).first()
        if message is None:
            raise NotFoundError(f"no message {message_id} from this persona to this channel")
        if message.unsent:
            raise ActionError("このメッセージはすでに送信取消されています。")
        message.unsent = True
        message.save(update_fields=["unsent"])
        fields = {"unsend": {"messageId": message_id}}
        event = emit(channel, persona, user_id_of(channel.provider, persona), "unsend", fields, replyable=False)
    return Sent(message, event)


def postback(channel: Channel, persona: Persona, data: str, params: dict[str, Any] | None = None) -> Sent:
    content: dict[str, Any] = {"data": data}
    if params:
        content["params"] = params
    uid = user_id_of(channel.provider, persona)
    return Sent(None, emit(channel, persona, uid, "postback", {"postback": content}, replyable=True))


# Messages to personas ---------------------------------------------------------------------------


@dataclass
class Recipient:
    to: str
    persona_id: str | None  # None: not a userId of this channel's provider
    delivered: bool
    reason: str = ""


def recipients(channel: Channel, user_ids: Iterable[str]) -> list[Recipient]:
    """Resolve userIds of this channel's provider, with whether a message to each would be delivered."""
    user_ids = list(user_ids)
    known = sql.friendship_states(channel.channel_id, channel.provider_id, user_ids)
    result = []
    for uid in user_ids:
        persona_id, state = known.get(uid, (None, "none"))
        if persona_id is None:
            result.append(Recipient(uid, None, False, "unknown_user"))
        elif state == Friendship.FOLLOWING:
            result.append(Recipient(uid, persona_id, True))
        else:
            result.append(Recipient(uid, persona_id, False, "blocked" if state == Friendship.BLOCKED else "not_friend"))
    return result


def sent_messages_for(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    sent = []
    for message in messages:
        entry = {"id": ids.message_id()}
        if message.get("type") in QUOTABLE_TYPES:
            entry["quoteToken"] = ids.quote_token()
        sent.append(entry)
    return sent


def record_outbound(
    channel: Channel,
    kind: str,
    request_id: str,
    retry_key: str,
    targets: list[Recipient],
    messages: list[dict[str, Any]],
    notification_disabled: bool,
    *,
    count_usage: bool = True,
) -> list[dict[str, str]]:
    """Store what the app sent, one outbox row per recipient, and count delivered ones toward usage."""
    now = runtime.now()
    sent_first: list[dict[str, str]] = []
    rows = []
    for target in targets:
        sent = sent_messages_for(messages)
        sent_first = sent_first or sent
        rows.append(
            {
                "channel_id": channel.channel_id,
                "kind": kind,
                "request_id": request_id,
                "retry_key": retry_key,
                "to": target.to,
                "persona_id": target.persona_id,
                "messages": messages,
                "sent_messages": sent,
                "delivered": target.delivered,
                "undelivered_reason": target.reason,
                "notification_disabled": notification_disabled,
                "created_at": now,
            }
        )
    with writing():
        sql.insert_outbox(rows)
        if count_usage:
            # Messages to blocked or non-friend users are not counted, as on LINE; replies are free.
            add_usage(channel, sum(1 for target in targets if target.delivered))
    return sent_first
