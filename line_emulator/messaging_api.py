"""Messaging API endpoints on api.line.me (messages, quota, bot info, webhook settings)."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from line_emulator import actions, conversations, runtime, sql, webhooks
from line_emulator.http import MONTHLY_LIMIT, ApiRequest, json_response, line_api, line_error, parse_json
from line_emulator.models import Channel, Friendship, WebhookEvent
from line_emulator.store import writing
from line_emulator.validation import (
    TO_PATTERN,
    USER_ID_PATTERN,
    common_errors,
    invalid_property,
    message_errors,
    validation_error,
)

RETRY_KEY_TTL = timedelta(hours=24)
REPLY_TOKEN_TTL = timedelta(minutes=1)
REPLY_TOKEN_MAX_AGE = timedelta(minutes=20)
RETRY_KEY_ACCEPTED = "The retry key is already accepted"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _json_object(request: HttpRequest) -> tuple[dict[str, Any], HttpResponse | None]:
    body, error = parse_json(request)
    if error is None and not isinstance(body, dict):
        error = line_error(400, "The request body could not be parsed as JSON (line: 1, column: 1)")
    return body, error


@dataclass
class Accepted:
    request_id: str
    sent_messages: list[dict[str, str]] | None


def _accepted(channel: Channel, endpoint: str, key: str) -> Accepted | None:
    """The earlier request that used this retry key, if within the last 24 hours."""
    if not key:
        return None
    found = sql.accepted_retry_key(channel.channel_id, endpoint, key)
    if found is None or found[2] <= runtime.now() - RETRY_KEY_TTL:
        return None
    return Accepted(found[0], found[1])


def _already_accepted(accepted: Accepted, with_sent_messages: bool) -> HttpResponse:
    extra = {"sentMessages": accepted.sent_messages} if with_sent_messages and accepted.sent_messages else {}
    response = line_error(409, RETRY_KEY_ACCEPTED, **extra)
    response["x-line-accepted-request-id"] = accepted.request_id
    return response


def _over_quota(channel: Channel, count: int) -> bool:
    if channel.quota_limit is None:
        return False
    return actions.monthly_usage(channel) + max(count, 1) > channel.quota_limit


def _remember_key(channel: Channel, endpoint: str, key: str, request_id: str, sent: list | None) -> None:
    if key:
        sql.remember_retry_key(channel.channel_id, endpoint, key, request_id, sent, runtime.now())


@require_POST
@line_api("POST /v2/bot/message/push")
def push(request: ApiRequest, channel: Channel) -> HttpResponse:
    body, error = _json_object(request)
    if error:
        return error
    to = body.get("to")
    if not isinstance(to, str) or not TO_PATTERN.match(to):
        return invalid_property("'to'")
    errors = common_errors(body)
    if errors:
        return validation_error(errors)
    key = request.headers.get("X-Line-Retry-Key", "")
    # One writer at a time, so two concurrent retries with one key cannot both be accepted.
    with writing():
        accepted = _accepted(channel, "push", key)
        if accepted:
            return _already_accepted(accepted, with_sent_messages=True)
        targets = conversations.recipients(channel, [to]) if to.startswith("U") else []
        if not targets or targets[0].persona_id is None:
            return line_error(400, "Failed to send messages")
        if _over_quota(channel, int(targets[0].delivered)):
            return line_error(429, MONTHLY_LIMIT)
        sent = conversations.record_outbound(
            channel,
            "push",
            request.line_request_id,
            key,
            targets,
            body["messages"],
            bool(body.get("notificationDisabled")),
        )
        _remember_key(channel, "push", key, request.line_request_id, sent)
    return json_response({"sentMessages": sent})


@require_POST
@line_api("POST /v2/bot/message/multicast")
def multicast(request: ApiRequest, channel: Channel) -> HttpResponse:
    body, error = _json_object(request)
    if error:
        return error
    to = body.get("to")
    if not isinstance(to, list) or not 1 <= len(to) <= 500:
        return validation_error([{"message": "Size must be between 1 and 500", "property": "to"}])
    for index, user_id in enumerate(to):
        if not isinstance(user_id, str) or not USER_ID_PATTERN.match(user_id):
            return invalid_property(f"to[{index}]")
    errors = common_errors(body)
    if errors:
        return validation_error(errors)
    key = request.headers.get("X-Line-Retry-Key", "")
    with writing():
        accepted = _accepted(channel, "multicast", key)
        if accepted:
            return _already_accepted(accepted, with_sent_messages=False)
        # Ids of other providers are dropped silently (kept in the outbox as unknown_user).
        targets = conversations.recipients(channel, dict.fromkeys(to))
        if _over_quota(channel, sum(1 for target in targets if target.delivered)):
            return line_error(429, MONTHLY_LIMIT)
        conversations.record_outbound(
            channel,
            "multicast",
            request.line_request_id,
            key,
            targets,
            body["messages"],
            bool(body.get("notificationDisabled")),
        )
        _remember_key(channel, "multicast", key, request.line_request_id, None)
    return json_response({})


@require_POST
@line_api("POST /v2/bot/message/reply")
def reply(request: ApiRequest, channel: Channel) -> HttpResponse:
    if "X-Line-Retry-Key" in request.headers:
        return line_error(400, "The X-Line-Retry-Key header is not supported for this endpoint")
    body, error = _json_object(request)
    if error:
        return error
    errors = []
    if not isinstance(body.get("replyToken"), str) or not body.get("replyToken"):
        errors.append({"message": "May not be empty", "property": "replyToken"})
    errors.extend(common_errors(body))
    if errors:
        return validation_error(errors)
    now = runtime.now()
    with writing():
        event = WebhookEvent.objects.filter(channel=channel, reply_token=body["replyToken"]).first()
        if (
            event is None
            or event.reply_token_used
            or now - (event.last_delivered_at or event.created_at) > REPLY_TOKEN_TTL
            or now - event.created_at > REPLY_TOKEN_MAX_AGE
        ):
            return line_error(400, "Invalid reply token")
        event.reply_token_used = True
        event.save(update_fields=["reply_token_used"])
        user_id = event.payload["source"]["userId"]
        targets = conversations.recipients(channel, [user_id])
        sent = conversations.record_outbound(
            channel,
            "reply",
            request.line_request_id,
            "",
            targets,
            body["messages"],
            bool(body.get("notificationDisabled")),
            count_usage=False,
        )
    return json_response({"sentMessages": sent})


@require_POST
@line_api("POST /v2/bot/message/validate/{type}")
def validate(request: HttpRequest, channel: Channel, kind: str) -> HttpResponse:
    body, error = _json_object(request)
    if error:
        return error
    errors = message_errors(body.get("messages"))
    return validation_error(errors) if errors else json_response({})


@require_GET
@line_api("GET /v2/bot/profile/{userId}")
def profile(request: HttpRequest, channel: Channel, user_id: str) -> HttpResponse:
    if not USER_ID_PATTERN.match(user_id):
        return line_error(400, "The value for the 'userId' parameter is invalid")
    persona = actions.persona_of(channel.provider, user_id)
    if persona is None or actions.friend_state(channel, persona) != Friendship.FOLLOWING:
        return line_error(404, "Not found")
    body = {"displayName": persona.display_name, "userId": user_id, "language": persona.language}
    if persona.picture_url:
        body["pictureUrl"] = persona.picture_url
    if persona.status_message:
        body["statusMessage"] = persona.status_message
    return json_response(body)


@require_GET
@line_api("GET /v2/bot/info")
def bot_info(request: HttpRequest, channel: Channel) -> HttpResponse:
    body = {
        "userId": channel.bot_user_id,
        "basicId": channel.basic_id,
        "displayName": channel.display_name,
        "chatMode": channel.chat_mode,
        "markAsReadMode": channel.mark_as_read_mode,
    }
    if channel.picture_url:
        body["pictureUrl"] = channel.picture_url
    return json_response(body)


@require_GET
@line_api("GET /v2/bot/message/quota")
def quota(request: HttpRequest, channel: Channel) -> HttpResponse:
    if channel.quota_limit is None:
        return json_response({"type": "none"})
    return json_response({"type": "limited", "value": channel.quota_limit})


@require_GET
@line_api("GET /v2/bot/message/quota/consumption")
def quota_consumption(request: HttpRequest, channel: Channel) -> HttpResponse:
    return json_response({"totalUsage": actions.monthly_usage(channel)})


@require_GET
@line_api("GET /v2/bot/followers/ids")
def follower_ids(request: HttpRequest, channel: Channel) -> HttpResponse:
    try:
        limit = min(int(request.GET.get("limit", 1000)), 1000)
        start = int(request.GET.get("start") or 0)
    except ValueError:
        return line_error(400, "The value for the 'limit' parameter is invalid")
    followers = list(
        Friendship.objects.filter(channel=channel, state=Friendship.FOLLOWING)
        .order_by("changed_at", "pk")
        .values_list("persona", flat=True)
    )
    page = followers[start : start + limit]
    user_ids = [actions.user_id_of(channel.provider, actions.persona_for(persona_id)) for persona_id in page]
    body: dict[str, Any] = {"userIds": user_ids}
    if start + limit < len(followers):
        body["next"] = str(start + limit)
    return json_response(body)


@require_POST
@line_api("POST /v2/bot/chat/loading/start")
def loading_start(request: HttpRequest, channel: Channel) -> HttpResponse:
    body, error = _json_object(request)
    if error:
        return error
    seconds = body.get("loadingSeconds", 20)
    if not isinstance(seconds, int) or not 5 <= seconds <= 60 or seconds % 5:
        return validation_error([{"message": "Must be a multiple of 5 between 5 and 60", "property": "loadingSeconds"}])
    return json_response({}, status=202)


@require_POST
@line_api("POST /v2/bot/chat/markAsRead")
def mark_as_read(request: HttpRequest, channel: Channel) -> HttpResponse:
    _, error = _json_object(request)
    return error or json_response({})


# Webhook settings -------------------------------------------------------------------------------


def valid_webhook_url(url: Any) -> bool:
    """HTTPS and at most 500 characters; plain http to this machine too while in emulator mode."""
    if not isinstance(url, str) or not url or len(url) > 500:
        return False
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and runtime.setting("allow_http_webhooks") and parts.hostname in LOCAL_HOSTS


@require_http_methods(["GET", "PUT"])
def webhook_endpoint(request: HttpRequest) -> HttpResponse:
    return set_webhook_endpoint(request) if request.method == "PUT" else get_webhook_endpoint(request)


@line_api("PUT /v2/bot/channel/webhook/endpoint")
def set_webhook_endpoint(request: HttpRequest, channel: Channel) -> HttpResponse:
    body, error = _json_object(request)
    if error:
        return error
    if not valid_webhook_url(body.get("endpoint")):
        return line_error(400, "Invalid webhook endpoint URL")
    with writing():
        Channel.objects.filter(pk=channel.pk).update(webhook_url=body["endpoint"])
    return json_response({})


@line_api("GET /v2/bot/channel/webhook/endpoint")
def get_webhook_endpoint(request: HttpRequest, channel: Channel) -> HttpResponse:
    if not channel.webhook_url:
        return line_error(404, "Webhook endpoint not found")
    return json_response({"endpoint": channel.webhook_url, "active": channel.webhook_active})


@require_POST
@line_api("POST /v2/bot/channel/webhook/test")
def test_webhook_endpoint(request: HttpRequest, channel: Channel) -> HttpResponse:
    body, error = _json_object(request) if request.body else ({}, None)
    if error:
        return error
    url = body.get("endpoint") or channel.webhook_url
    if not url:
        return line_error(404, "Webhook endpoint not found")
    if not valid_webhook_url(url):
        return line_error(400, "Invalid webhook endpoint URL")
    return json_response(webhooks.test_endpoint(channel, url))
