"""What each LINE event type does, once its stored row is claimed (`queue.py` claims, retries
and records; this module applies the effect and names the outcome).

`HANDLERS` maps LINE's event `type` to a function `(LineWebhookEvent) -> outcome`:

- "processed": the effect is applied (a timeline message, an unsend, content downloaded);
- "ignored": stored, deliberately no action (group/room sources, `mode: standby`, event types
  the ATS does not use, unknown future types), with the reason in `detail`;
- "unlinked": from a LINE user no candidate is linked to yet; kept for `queue.reconcile_user`;
- "friend" / "blocked" / "stale" / "unlinked": follow/unfollow, from `follows.py`;
- "content": a message whose image, video, audio or file is still to be downloaded (`download`),
  in a step of its own.

Effects reach the timeline by signal (`signals.py`), and every receiver is idempotent, so a
handler may run twice for one event. A handler that needs another try later raises `Retry`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hrmos.text import file_name
from line_integration.api import content
from line_integration.models import LineAccount, LineIntegration, LineWebhookEvent
from line_integration.processing import follows
from line_integration.signals import (
    ReceivedLineMessage,
    line_content_downloaded,
    line_content_unavailable,
    line_message_received,
    line_message_unsent,
)

logger = logging.getLogger(__name__)

Handler = Callable[[LineWebhookEvent], str]

CONTENT_TYPES = frozenset({"image", "video", "audio", "file"})

PROCESSED = LineWebhookEvent.PROCESSED
IGNORED = LineWebhookEvent.IGNORED
UNLINKED = LineWebhookEvent.UNLINKED
CONTENT = LineWebhookEvent.CONTENT  # not final: on the timeline, the download is still due

IGNORED_TYPES = {
    "postback": "ポストバック（ATSはリッチメニュー等を使っていません）",
    "join": "グループ・トークルームへの参加",
    "leave": "グループ・トークルームからの退出",
    "memberJoined": "グループへのメンバー参加",
    "memberLeft": "グループからのメンバー退出",
    "videoPlayComplete": "動画の視聴完了",
    "beacon": "ビーコン",
    "accountLink": "アカウント連携（ATSは使っていません）",
    "membership": "メンバーシップ",
}


class Retry(Exception):
    """Try this event again later (the reason goes to `detail`)."""


def _account(event: LineWebhookEvent) -> LineAccount | None:
    if not event.source_user_id:
        return None
    return (
        LineAccount.objects.select_related("candidate")
        .filter(company_id=event.company_id, line_user_id=event.source_user_id)
        .first()
    )


def _received_message(account: LineAccount, event: LineWebhookEvent, message: dict) -> ReceivedLineMessage:
    kind = str(message.get("type") or "")
    fields: dict = {"text": "", "extra": {}}
    if message.get("quotedMessageId"):
        fields["extra"]["quoted_message_id"] = str(message["quotedMessageId"])
    if kind == "text":
        fields["text"] = str(message.get("text") or "")
    elif kind == "sticker":
        fields.update(
            sticker_package_id=str(message.get("packageId") or "")[:32],
            sticker_id=str(message.get("stickerId") or "")[:32],
            text=str(message.get("text") or ""),  # message stickers carry their text
        )
        fields["extra"].update(
            resource_type=str(message.get("stickerResourceType") or ""),
            keywords=[str(k) for k in (message.get("keywords") or [])][:15],
        )
    elif kind in CONTENT_TYPES:
        provider = message.get("contentProvider") or {}
        provider_type = provider.get("type", "line") if isinstance(provider, dict) else "line"
        if kind == "file":
            given = str(message.get("fileName") or "")
            fields.update(file_name=file_name(given) if given else "", file_size=message.get("fileSize"))
            provider_type = "line"  # files have no contentProvider and are always fetchable
        if message.get("duration") is not None:
            fields["extra"]["duration_ms"] = message["duration"]
        if isinstance(message.get("imageSet"), dict):
            fields["extra"]["image_set"] = message["imageSet"]
        if provider_type == "external":
            fields["extra"].update(
                provider="external",
                original_url=str(provider.get("originalContentUrl") or ""),
                preview_url=str(provider.get("previewImageUrl") or ""),
            )
        else:
            fields["content_pending"] = True
    elif kind == "location":
        title, address = str(message.get("title") or ""), str(message.get("address") or "")
        fields["text"] = " ".join(part for part in (title, address) if part)
        fields["extra"].update(
            title=title, address=address, latitude=message.get("latitude"), longitude=message.get("longitude")
        )
    else:
        fields["extra"]["line_type"] = kind
        kind = "unknown"
    if not isinstance(fields.get("file_size"), int):
        fields.pop("file_size", None)
    return ReceivedLineMessage(
        candidate=account.candidate,
        line_message_id=event.line_message_id,
        occurred_at=event.timestamp,
        content_type=kind,
        sender_name=account.display_name,
        **fields,
    )


def _was_unsent(event: LineWebhookEvent) -> bool:
    return LineWebhookEvent.objects.filter(
        company_id=event.company_id,
        source_user_id=event.source_user_id,
        event_type="unsend",
        line_message_id=event.line_message_id,
    ).exists()


def _unavailable(event: LineWebhookEvent, status: str, reason: str) -> str:
    line_content_unavailable.send(
        sender=LineWebhookEvent, company_id=event.company_id, line_message_id=event.line_message_id, status=status
    )
    event.detail = reason
    return PROCESSED


def tell_unavailable(event: LineWebhookEvent) -> None:
    """A download given up on: the timeline says so (best effort; the row is failed anyway)."""
    try:
        line_content_unavailable.send(
            sender=LineWebhookEvent,
            company_id=event.company_id,
            line_message_id=event.line_message_id,
            status=content.FAILED,
        )
    except Exception:
        logger.exception("LINE event %s: could not mark its content unavailable", event.pk)


def download(event: LineWebhookEvent, *, final_attempt: bool) -> str:
    """The second step of a content message: download the file and attach it (or say why not).
    A file still being prepared asks for a `Retry`, except on the `final_attempt`."""
    message = event.payload.get("message")
    message = message if isinstance(message, dict) else {}
    integration = LineIntegration.objects.for_company_or_none(event.company_id)
    if integration is None:
        return _unavailable(event, content.FAILED, "LINE連携がありません")
    try:
        with content.downloaded(
            integration,
            event.line_message_id,
            message_type=str(message.get("type")),
            given_name=str(message.get("fileName") or ""),
        ) as downloaded:
            line_content_downloaded.send(
                sender=LineWebhookEvent,
                company_id=event.company_id,
                line_message_id=event.line_message_id,
                content=downloaded,
            )
    except content.Unavailable as exc:
        return _unavailable(event, exc.status, exc.reason)
    except content.NotReady as exc:
        if final_attempt:
            return _unavailable(event, content.FAILED, f"{content.UNAVAILABLE_TEXT[content.FAILED]}（{exc}）")
        raise Retry(f"コンテンツの取得を再試行します: {exc}") from exc
    return PROCESSED


def handle_message(event: LineWebhookEvent) -> str:
    """A message from a linked candidate → their timeline (then its content, if any)."""
    message = event.payload.get("message")
    if not isinstance(message, dict) or not event.line_message_id:
        event.detail = "message.id がありません"
        return IGNORED
    account = _account(event)
    if account is None:
        return UNLINKED
    received = _received_message(account, event, message)
    line_message_received.send(sender=LineWebhookEvent, message=received)
    # Events arrive out of order: an unsend processed before this message existed left its row.
    if _was_unsent(event):
        _announce_unsend(event)
        return PROCESSED
    if received.content_pending:
        return CONTENT  # downloaded by download_content, in a task of its own
    return PROCESSED


def handle_unsend(event: LineWebhookEvent) -> str:
    """The candidate unsent a message: it is hidden and marked as unsent on the timeline."""
    if not event.line_message_id:
        event.detail = "unsend.messageId がありません"
        return IGNORED
    if _account(event) is None:
        return UNLINKED
    _announce_unsend(event)
    return PROCESSED


def _announce_unsend(event: LineWebhookEvent) -> None:
    line_message_unsent.send(
        sender=LineWebhookEvent,
        company_id=event.company_id,
        line_message_id=event.line_message_id,
        unsent_at=event.timestamp,
    )


def ignore(event: LineWebhookEvent) -> str:
    event.detail = event.detail or f"対象外のイベント: {IGNORED_TYPES.get(event.event_type, event.event_type)}"
    return IGNORED


HANDLERS: dict[str, Handler] = {
    "message": handle_message,
    "unsend": handle_unsend,
    "follow": follows.handle_follow,
    "unfollow": follows.handle_unfollow,
    **dict.fromkeys(IGNORED_TYPES, ignore),
}


def dispatch(event: LineWebhookEvent) -> str:
    """The outcome of one event; sets `event.detail` when there is something to say."""
    if event.mode == "standby":
        event.detail = "standby モード（他のチャネルがチャットを操作中）のため何もしません"
        return IGNORED
    if event.source_type in ("group", "room"):
        event.detail = f"{event.source_type} のイベントはATSでは扱いません"
        return IGNORED
    handler = HANDLERS.get(event.event_type)
    if handler is None:
        event.detail = f"未知のイベントの種類: {event.event_type}"
        return IGNORED
    return handler(event)
