"""The emulator's own control API under /_emu/ (JSON in, JSON out): fixtures, inspection, faults, clock.

Not part of LINE. Documented in line_emulator/README.md.
"""

import base64
import binascii
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from line_emulator import actions, conversations, runtime
from line_emulator.http import control_error, json_response, read_control_json
from line_emulator.models import (
    AccessToken,
    Channel,
    Consent,
    OutboxMessage,
    Persona,
    Provider,
    WebhookAttempt,
    WebhookEvent,
)
from line_emulator.webhooks import dispatcher

View = Callable[..., HttpResponse]


def control(*methods: str) -> Callable[[View], View]:
    """Allowed methods, a parsed JSON body as `data`, and emulator errors as 400/404 JSON."""

    def decorator(view: View) -> View:
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                data = read_control_json(request) if request.method in ("POST", "PATCH", "PUT") else {}
                return view(request, data, *args, **kwargs)
            except actions.NotFoundError as error:
                return control_error(404, str(error))
            except (actions.ActionError, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
                return control_error(
                    400, f"{type(error).__name__}: {error}" if isinstance(error, KeyError) else str(error)
                )

        return wrapper

    return decorator


# Serialisers ------------------------------------------------------------------------------------


def provider_json(provider: Provider) -> dict[str, Any]:
    return {"provider_id": provider.pk, "name": provider.name}


def channel_json(channel: Channel) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel_id": channel.channel_id,
        "channel_secret": channel.secret,
        "type": channel.kind,
        "provider_id": channel.provider_id,
        "name": channel.name,
    }
    if channel.is_messaging:
        body.update(
            bot_user_id=channel.bot_user_id,
            basic_id=channel.basic_id,
            display_name=channel.display_name,
            chat_mode=channel.chat_mode,
            webhook_url=channel.webhook_url,
            webhook_active=channel.webhook_active,
            redelivery_enabled=channel.redelivery_enabled,
            quota={"type": "none"}
            if channel.quota_limit is None
            else {"type": "limited", "value": channel.quota_limit},
            monthly_usage=actions.monthly_usage(channel),
            long_lived_token=actions.long_lived_token(channel),
        )
    else:
        body.update(
            callback_urls=channel.callback_urls,
            status=channel.status,
            linked_oa=channel.linked_oa_id,
            email_permission=channel.email_permission,
            role_personas=list(channel.role_personas.values_list("persona_id", flat=True)),
        )
    return body


def persona_json(persona: Persona) -> dict[str, Any]:
    return {
        "persona_id": persona.persona_id,
        "display_name": persona.display_name,
        "picture_url": persona.picture_url,
        "status_message": persona.status_message,
        "language": persona.language,
        "email": persona.email,
    }


def outbox_json(row: OutboxMessage) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "request_id": row.request_id,
        "retry_key": row.retry_key or None,
        "to": row.to,
        "persona_id": row.persona_id,
        "messages": row.messages,
        "sent_messages": row.sent_messages,
        "delivered": row.delivered,
        "undelivered_reason": row.undelivered_reason or None,
        "notification_disabled": row.notification_disabled,
        "timestamp": row.created_at.isoformat(),
    }


def attempt_json(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempt_id": attempt.pk,
        "url": attempt.url,
        "event_ids": attempt.event_ids,
        "is_test": attempt.is_test,
        "is_redelivery": attempt.is_redelivery,
        "attempt": attempt.attempt,
        "status_code": attempt.status_code,
        "reason": attempt.reason,
        "detail": attempt.detail,
        "latency_ms": attempt.latency_ms,
        "signature": attempt.signature,
        "body": bytes(attempt.body).decode("utf-8"),
        "timestamp": attempt.started_at.isoformat(),
    }


def event_json(event: WebhookEvent) -> dict[str, Any]:
    return {
        "webhook_event_id": event.event_id,
        "type": event.type,
        "persona_id": event.persona_id,
        "reply_token": event.reply_token,
        "delivered": event.delivered,
        "payload": event.payload,
        "timestamp": event.created_at.isoformat(),
    }


# State ------------------------------------------------------------------------------------------


@control("GET")
def health(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    return json_response({"ok": True, "now": runtime.now().isoformat(), "pending_webhooks": dispatcher.pending()})


@control("POST")
def reset(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    actions.reset_all()
    return json_response({})


@control("GET", "POST")
def providers(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    if request.method == "GET":
        return json_response({"providers": [provider_json(p) for p in Provider.objects.order_by("pk")]})
    return json_response(provider_json(actions.create_provider(data.get("name") or "プロバイダー")), status=201)


@control("GET", "POST")
def channels(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    if request.method == "GET":
        found = Channel.objects.select_related("provider").order_by("created_at")
        return json_response({"channels": [channel_json(channel) for channel in found]})
    kind = data.pop("type", None)
    provider = Provider.objects.filter(pk=data.pop("provider_id", None)).first()
    if provider is None:
        raise actions.NotFoundError("provider_id does not name a provider")
    name = data.pop("name", None)
    if kind == Channel.MESSAGING:
        channel = actions.create_messaging_channel(
            provider, name or data.get("display_name") or "公式アカウント", **data
        )
    elif kind == Channel.LOGIN:
        channel = actions.create_login_channel(provider, name or "LINEログイン", **data)
    else:
        raise actions.ActionError("type must be messaging or login")
    return json_response(channel_json(channel), status=201)


@control("GET", "PATCH")
def channel(request: HttpRequest, data: dict[str, Any], channel_id: str) -> HttpResponse:
    found = actions.channel_for(channel_id)
    if request.method == "PATCH":
        found = actions.update_channel(found, data)
    return json_response(channel_json(found))


@control("POST")
def long_lived_token(request: HttpRequest, data: dict[str, Any], channel_id: str) -> HttpResponse:
    token = actions.issue_long_lived_token(actions.channel_for(channel_id))
    return json_response({"access_token": token.token, "token_type": "Bearer"}, status=201)


@control("GET", "POST")
def personas(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    if request.method == "GET":
        return json_response({"personas": [persona_json(p) for p in Persona.objects.order_by("created_at")]})
    persona = actions.create_persona(
        data.get("display_name", ""),
        data.get("persona_id"),
        picture_url=data.get("picture_url", ""),
        status_message=data.get("status_message", ""),
        language=data.get("language", "ja"),
        email=data.get("email", ""),
    )
    return json_response(persona_json(persona), status=201)


# One persona and one channel --------------------------------------------------------------------


def _user_json(found: Channel, persona: Persona) -> dict[str, Any]:
    oa = found if found.is_messaging else found.linked_oa
    consent = None if found.is_messaging else Consent.objects.filter(channel=found, persona=persona).first()
    return {
        "persona_id": persona.persona_id,
        "user_id": actions.user_id_of(found.provider, persona),
        "provider_id": found.provider_id,
        "friend_state": actions.friend_state(oa, persona) if oa else "none",
        "consented_scopes": consent.scopes if consent else None,
    }


@control("GET")
def user(request: HttpRequest, data: dict[str, Any], channel_id: str, persona_id: str) -> HttpResponse:
    return json_response(_user_json(actions.channel_for(channel_id), actions.persona_for(persona_id)))


@control("POST")
def friendship(request: HttpRequest, data: dict[str, Any], channel_id: str, persona_id: str, verb: str) -> HttpResponse:
    change = {"follow": actions.follow, "block": actions.block, "unblock": actions.unblock}.get(verb)
    if change is None:
        raise actions.NotFoundError(f"unknown action {verb}: use follow, block or unblock")
    found = actions.channel_for(channel_id, Channel.MESSAGING)
    persona = actions.persona_for(persona_id)
    event = change(found, persona)
    body = _user_json(found, persona)
    body["webhook_event_id"] = event.event_id if event else None
    return json_response(body)


def _decoded(data: dict[str, Any]) -> dict[str, Any]:
    spec = dict(data)
    if "content_base64" in spec:
        try:
            spec["content"] = base64.b64decode(spec.pop("content_base64"), validate=True)
        except (binascii.Error, ValueError) as error:
            raise actions.ActionError("content_base64 is not valid base64") from error
    return spec


@control("POST")
def messages(request: HttpRequest, data: dict[str, Any], channel_id: str, persona_id: str) -> HttpResponse:
    found = actions.channel_for(channel_id, Channel.MESSAGING)
    sent = conversations.send_message(found, actions.persona_for(persona_id), _decoded(data))
    assert sent.message is not None  # a message sent by a persona is always stored
    body = {
        "message_id": sent.message.message_id,
        "webhook_event_id": sent.event.event_id,
        "reply_token": sent.event.reply_token,
        "message": sent.event.payload["message"],
    }
    return json_response(body, status=201)


@control("POST")
def postback(request: HttpRequest, data: dict[str, Any], channel_id: str, persona_id: str) -> HttpResponse:
    found = actions.channel_for(channel_id, Channel.MESSAGING)
    sent = conversations.postback(found, actions.persona_for(persona_id), str(data.get("data", "")), data.get("params"))
    return json_response({"webhook_event_id": sent.event.event_id, "reply_token": sent.event.reply_token}, status=201)


@control("POST")
def unsend(
    request: HttpRequest, data: dict[str, Any], channel_id: str, persona_id: str, message_id: str
) -> HttpResponse:
    found = actions.channel_for(channel_id, Channel.MESSAGING)
    sent = conversations.unsend(found, actions.persona_for(persona_id), message_id)
    return json_response({"webhook_event_id": sent.event.event_id})


# Inspection -------------------------------------------------------------------------------------


@control("GET")
def outbox(request: HttpRequest, data: dict[str, Any], channel_id: str) -> HttpResponse:
    rows = OutboxMessage.objects.filter(channel=actions.channel_for(channel_id)).order_by("created_at", "pk")
    for name in ("to", "kind", "retry_key", "request_id"):
        if request.GET.get(name):
            rows = rows.filter(**{name: request.GET[name]})
    return json_response({"messages": [outbox_json(row) for row in rows]})


@control("GET")
def webhook_log(request: HttpRequest, data: dict[str, Any], channel_id: str) -> HttpResponse:
    attempts = WebhookAttempt.objects.filter(channel=actions.channel_for(channel_id)).order_by("started_at", "pk")
    return json_response({"attempts": [attempt_json(attempt) for attempt in attempts]})


@control("GET")
def events(request: HttpRequest, data: dict[str, Any], channel_id: str) -> HttpResponse:
    found = WebhookEvent.objects.filter(channel=actions.channel_for(channel_id)).order_by("created_at", "pk")
    return json_response({"events": [event_json(event) for event in found]})


@control("GET")
def tokens(request: HttpRequest, data: dict[str, Any], channel_id: str) -> HttpResponse:
    """Channel access tokens of a channel, to check the 30-token cap and revocations."""
    found = AccessToken.objects.filter(channel=actions.channel_for(channel_id)).exclude(kind=AccessToken.USER)
    rows = [
        {
            "access_token": token.token,
            "kind": token.kind,
            "revoked": token.revoked,
            "issued_at": token.issued_at.isoformat(),
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        }
        for token in found.order_by("issued_at", "pk")
    ]
    return json_response({"tokens": rows})


@control("POST")
def wait_webhooks(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """Block until no webhook is being sent or due now (later redeliveries do not count)."""
    return json_response({"idle": dispatcher.wait_idle(float(data.get("timeout", 5)))})


# Knobs ------------------------------------------------------------------------------------------


@control("GET", "POST", "DELETE")
def faults(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    if request.method == "DELETE":
        runtime.clear_faults()
    elif request.method == "POST":
        fault = runtime.add_fault(
            data["endpoint"], str(data["mode"]), int(data.get("count", 1)), data.get("channel_id")
        )
        return json_response(fault.as_dict(), status=201)
    return json_response({"faults": runtime.list_faults()})


@control("GET", "POST")
def clock(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    if request.method == "POST":
        runtime.advance_clock(float(data.get("advance_seconds", 0)))
    return json_response({"now": runtime.now().isoformat(), "offset_seconds": runtime.offset_seconds()})


@control("GET", "PATCH")
def settings(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    if request.method == "PATCH":
        return json_response(runtime.update_settings(data))
    return json_response(runtime.all_settings())
