"""State changes of the emulated platform, shared by the control API, the console and the phone UI."""

import re
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models

from line_emulator import ids, runtime, sql
from line_emulator.http import forget_tokens
from line_emulator.models import (
    AccessToken,
    AuthCode,
    Channel,
    Consent,
    Friendship,
    InboundMessage,
    LineUser,
    LoginSession,
    OutboxMessage,
    Persona,
    Provider,
    RetryKey,
    WebhookAttempt,
    WebhookEvent,
)
from line_emulator.store import writing
from line_emulator.webhooks import dispatcher, emit

JST = ZoneInfo("Asia/Tokyo")
PERSONA_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ActionError(ValueError):
    """A request the emulator refuses (bad input, wrong state); the message is shown as is."""


class NotFoundError(ActionError):
    """The provider, channel, persona or message named in the request does not exist."""


def reset_all() -> None:
    """Wipe every provider, channel, persona and message; back to default settings and real time."""
    dispatcher.clear()
    runtime.reset()
    forget_tokens()
    tables: list[type[models.Model]] = [
        WebhookAttempt,
        WebhookEvent,
        InboundMessage,
        OutboxMessage,
        RetryKey,
        LoginSession,
        AuthCode,
        AccessToken,
        Consent,
        Friendship,
        LineUser,
        Channel.role_personas.through,
        Channel,
        Persona,
        Provider,
    ]
    with writing(), connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608 (model names)


# Providers and personas -------------------------------------------------------------------------


def create_provider(name: str) -> Provider:
    if not name.strip():
        raise ActionError("プロバイダー名を入力してください。")
    with writing():
        provider = Provider.objects.create(name=name.strip(), secret=ids.provider_secret(), created_at=runtime.now())
        LineUser.objects.bulk_create(
            LineUser(provider=provider, persona=persona, user_id=ids.user_id(provider.secret, persona.persona_id))
            for persona in Persona.objects.all()
        )
    return provider


def create_persona(
    display_name: str,
    persona_id: str | None = None,
    *,
    picture_url: str = "",
    status_message: str = "",
    language: str = "ja",
    email: str = "",
) -> Persona:
    if not display_name.strip():
        raise ActionError("表示名を入力してください。")
    persona_id = persona_id or ids.persona_id()
    if not PERSONA_ID_PATTERN.match(persona_id):
        raise ActionError("persona_id may contain only letters, digits, '-' and '_' (at most 64)")
    with writing():
        if Persona.objects.filter(persona_id=persona_id).exists():
            raise ActionError(f"persona {persona_id} already exists")
        persona = Persona.objects.create(
            persona_id=persona_id,
            display_name=display_name.strip(),
            picture_url=picture_url,
            status_message=status_message,
            language=language,
            email=email,
            created_at=runtime.now(),
        )
        LineUser.objects.bulk_create(
            LineUser(provider=provider, persona=persona, user_id=ids.user_id(provider.secret, persona_id))
            for provider in Provider.objects.all()
        )
    return persona


def user_id_of(provider: Provider, persona: Persona) -> str:
    return ids.user_id(provider.secret, persona.persona_id)


def persona_of(provider: Provider, user_id: str) -> Persona | None:
    found = LineUser.objects.select_related("persona").filter(provider=provider, user_id=user_id).first()
    return found.persona if found else None


# Channels ---------------------------------------------------------------------------------------


def _new_channel_id() -> str:
    while True:
        candidate = ids.channel_id()
        if not Channel.objects.filter(channel_id=candidate).exists():
            return candidate


def create_messaging_channel(provider: Provider, name: str, **fields: Any) -> Channel:
    with writing():
        channel = Channel.objects.create(
            channel_id=_new_channel_id(),
            provider=provider,
            kind=Channel.MESSAGING,
            secret=ids.channel_secret(),
            name=name,
            display_name=fields.pop("display_name", None) or name,
            bot_user_id=ids.bot_user_id(),
            basic_id=fields.pop("basic_id", None) or ids.basic_id(),
            created_at=runtime.now(),
        )
        return update_channel(channel, fields) if fields else channel


def create_login_channel(provider: Provider, name: str, **fields: Any) -> Channel:
    with writing():
        channel = Channel.objects.create(
            channel_id=_new_channel_id(),
            provider=provider,
            kind=Channel.LOGIN,
            secret=ids.channel_secret(),
            name=name,
            created_at=runtime.now(),
        )
        return update_channel(channel, fields) if fields else channel


_MESSAGING_FIELDS = {
    "webhook_url",
    "webhook_active",
    "redelivery_enabled",
    "quota",
    "monthly_usage",
    "display_name",
    "basic_id",
    "picture_url",
    "chat_mode",
    "mark_as_read_mode",
}
_LOGIN_FIELDS = {"callback_urls", "status", "linked_oa", "email_permission", "role_personas"}
_COMMON_FIELDS = {"name", "description"}


def update_channel(channel: Channel, changes: dict[str, Any]) -> Channel:
    allowed = _COMMON_FIELDS | (_MESSAGING_FIELDS if channel.is_messaging else _LOGIN_FIELDS)
    unknown = set(changes) - allowed
    if unknown:
        raise ActionError(f"cannot set {', '.join(sorted(unknown))} on a {channel.kind} channel")
    with writing():
        for name, value in changes.items():
            _set_field(channel, name, value)
        channel.save()
    return channel


def _set_field(channel: Channel, name: str, value: Any) -> None:
    if name == "quota":
        if value is None or value == {"type": "none"} or (isinstance(value, dict) and value.get("type") == "none"):
            channel.quota_limit = None
        elif isinstance(value, dict) and value.get("type") == "limited" and isinstance(value.get("value"), int):
            channel.quota_limit = value["value"]
        else:
            raise ActionError('quota must be {"type":"none"} or {"type":"limited","value":N}')
    elif name == "monthly_usage":
        channel.monthly_usage = int(value)
        channel.usage_month = _month()
    elif name == "status":
        if value not in (Channel.DEVELOPING, Channel.PUBLISHED):
            raise ActionError("status must be developing or published")
        channel.status = value
    elif name == "callback_urls":
        if isinstance(value, str):
            value = [value]
        channel.callback_urls = [url.strip() for url in value if url.strip()]
    elif name == "linked_oa":
        channel.linked_oa = _linkable_oa(channel, value)
    elif name == "role_personas":
        channel.role_personas.set(Persona.objects.filter(persona_id__in=value))
    elif name == "chat_mode" and value not in ("chat", "bot"):
        raise ActionError("chat_mode must be chat or bot")
    elif name in ("webhook_active", "redelivery_enabled", "email_permission"):
        setattr(channel, name, bool(value))
    else:
        setattr(channel, name, value or "")


def _linkable_oa(channel: Channel, oa_channel_id: str | None) -> Channel | None:
    if not oa_channel_id:
        return None
    oa = Channel.objects.filter(channel_id=oa_channel_id, kind=Channel.MESSAGING).first()
    if oa is None:
        raise ActionError(f"no Messaging API channel {oa_channel_id}")
    if oa.provider_id != channel.provider_id:
        raise ActionError("リンクできるのは同じプロバイダーのLINE公式アカウントだけです。")
    return oa


def issue_long_lived_token(channel: Channel) -> AccessToken:
    """The console's 発行 button: one long-lived token per channel; reissuing revokes the old one."""
    with writing():
        AccessToken.objects.filter(channel=channel, kind=AccessToken.LONG_LIVED).update(revoked=True)
        forget_tokens()
        return AccessToken.objects.create(
            token=ids.access_token(), kind=AccessToken.LONG_LIVED, channel=channel, issued_at=runtime.now()
        )


def long_lived_token(channel: Channel) -> str:
    found = AccessToken.objects.filter(channel=channel, kind=AccessToken.LONG_LIVED, revoked=False).first()
    return found.token if found else ""


# Quota ------------------------------------------------------------------------------------------


def _month() -> str:
    return runtime.now().astimezone(JST).strftime("%Y-%m")


def monthly_usage(channel: Channel) -> int:
    """This month's usage, read afresh; a new month (JST, on the emulated clock) starts again from zero."""
    usage, month = Channel.objects.filter(pk=channel.pk).values_list("monthly_usage", "usage_month").get()
    return usage if month == _month() else 0


def add_usage(channel: Channel, count: int) -> None:
    with writing():
        sql.add_usage(channel.channel_id, _month(), count)


# Friendship -------------------------------------------------------------------------------------


def friend_state(channel: Channel, persona: Persona) -> str:
    found = Friendship.objects.filter(channel=channel, persona=persona).values_list("state", flat=True).first()
    return found or "none"


def _set_state(channel: Channel, persona: Persona, state: str) -> None:
    Friendship.objects.update_or_create(
        channel=channel, persona=persona, defaults={"state": state, "changed_at": runtime.now()}
    )


def follow(channel: Channel, persona: Persona, *, delay_ms: int = 0) -> WebhookEvent | None:
    """Add the OA as a friend (or unblock it): a follow event; None when already a friend."""
    with writing():
        state = friend_state(channel, persona)
        if state == Friendship.FOLLOWING:
            return None
        _set_state(channel, persona, Friendship.FOLLOWING)
        fields = {"follow": {"isUnblocked": state == Friendship.BLOCKED}}
        uid = user_id_of(channel.provider, persona)
        return emit(channel, persona, uid, "follow", fields, replyable=True, delay_ms=delay_ms)


def unblock(channel: Channel, persona: Persona) -> WebhookEvent | None:
    if friend_state(channel, persona) != Friendship.BLOCKED:
        raise ActionError("このアカウントはブロックされていません。")
    return follow(channel, persona)


def block(channel: Channel, persona: Persona) -> WebhookEvent | None:
    """Block the OA: an unfollow event. LINE has no way to "unfollow" other than blocking."""
    with writing():
        if friend_state(channel, persona) != Friendship.FOLLOWING:
            raise ActionError("友だちではないためブロックできません。")
        _set_state(channel, persona, Friendship.BLOCKED)
        return emit(channel, persona, user_id_of(channel.provider, persona), "unfollow", {}, replyable=False)


def channel_for(channel_id: str, kind: str | None = None) -> Channel:
    channel = Channel.objects.select_related("provider").filter(channel_id=channel_id).first()
    if channel is None or (kind and channel.kind != kind):
        raise NotFoundError(f"no {kind + ' ' if kind else ''}channel {channel_id}")
    return channel


def persona_for(persona_id: str) -> Persona:
    persona = Persona.objects.filter(persona_id=persona_id).first()
    if persona is None:
        raise NotFoundError(f"no persona {persona_id}")
    return persona
