"""Every path of api.line.me, api-data.line.me, access.line.me, line.me and the sticker CDN the app uses, plus
/_emu/ and the UI."""

from django.urls import path

from line_emulator import (
    channel_tokens,
    console,
    content_api,
    control,
    login_api,
    login_pages,
    messaging_api,
    phone,
    stickers,
    web_pages,
)

line_hosts = [
    # Channel access tokens.
    path("v2/oauth/accessToken", channel_tokens.issue_short_lived),
    path("v2/oauth/verify", channel_tokens.verify),
    path("v2/oauth/revoke", channel_tokens.revoke),
    path("oauth2/v3/token", channel_tokens.issue_stateless),
    # Messaging API.
    path("v2/bot/message/push", messaging_api.push),
    path("v2/bot/message/multicast", messaging_api.multicast),
    path("v2/bot/message/reply", messaging_api.reply),
    path("v2/bot/message/validate/<str:kind>", messaging_api.validate),
    path("v2/bot/message/quota", messaging_api.quota),
    path("v2/bot/message/quota/consumption", messaging_api.quota_consumption),
    path("v2/bot/profile/<str:user_id>", messaging_api.profile),
    path("v2/bot/info", messaging_api.bot_info),
    path("v2/bot/followers/ids", messaging_api.follower_ids),
    path("v2/bot/chat/loading/start", messaging_api.loading_start),
    path("v2/bot/chat/markAsRead", messaging_api.mark_as_read),
    path("v2/bot/channel/webhook/endpoint", messaging_api.webhook_endpoint),
    path("v2/bot/channel/webhook/test", messaging_api.test_webhook_endpoint),
    # api-data.line.me
    path("v2/bot/message/<str:message_id>/content", content_api.content),
    path("v2/bot/message/<str:message_id>/content/preview", content_api.preview),
    path("v2/bot/message/<str:message_id>/content/transcoding", content_api.transcoding),
    # LINE Login: the pages of access.line.me, the API of api.line.me.
    path("oauth2/v2.1/authorize", login_pages.authorize),
    path("oauth2/v2.1/login", login_pages.login),
    path("oauth2/v2.1/authorize/consent", login_pages.consent),
    path("oauth2/v2.1/authorize/add-friend", login_pages.add_friend),
    path("oauth2/v2.1/token", login_api.token),
    path("oauth2/v2.1/verify", login_api.verify),
    path("oauth2/v2.1/revoke", login_api.revoke),
    path("oauth2/v2.1/userinfo", login_api.userinfo),
    path("v2/profile", login_api.profile),
    path("friendship/v1/status", login_api.friendship_status),
    path("user/v1/deauthorize", login_api.deauthorize),
    # line.me: the Official Account's add-friend link (`@` percent-encoded or raw).
    path("R/ti/p/<str:basic_id>", web_pages.add_friend, name="web_add_friend"),
    path("R/ti/p/<str:basic_id>/done", web_pages.added, name="web_add_friend_done"),
    # stickershop.line-scdn.net: the pictures of stickers.
    path("stickershop/v1/sticker/<str:sticker_id>/android/sticker.png", stickers.sticker_image),
]

users = "_emu/channels/<str:channel_id>/users/<str:persona_id>"
control_api = [
    path("_emu/health", control.health),
    path("_emu/reset", control.reset),
    path("_emu/providers", control.providers),
    path("_emu/channels", control.channels),
    path("_emu/channels/<str:channel_id>", control.channel),
    path("_emu/channels/<str:channel_id>/long-lived-token", control.long_lived_token),
    path("_emu/channels/<str:channel_id>/outbox", control.outbox),
    path("_emu/channels/<str:channel_id>/webhook-log", control.webhook_log),
    path("_emu/channels/<str:channel_id>/events", control.events),
    path("_emu/channels/<str:channel_id>/tokens", control.tokens),
    path(users, control.user),
    path(f"{users}/messages", control.messages),
    path(f"{users}/postback", control.postback),
    path(f"{users}/<str:verb>", control.friendship),
    path(f"{users}/unsend/<str:message_id>", control.unsend),
    path("_emu/personas", control.personas),
    path("_emu/faults", control.faults),
    path("_emu/clock", control.clock),
    path("_emu/settings", control.settings),
    path("_emu/webhooks/wait", control.wait_webhooks),
]

ui = [
    path("", console.home, name="home"),
    path("console/providers/<int:provider_id>", console.provider, name="provider"),
    path("console/channels/<str:channel_id>", console.channel, name="channel"),
    path("console/channels/<str:channel_id>/<str:action>", console.channel_action, name="channel_action"),
    path("console/personas", console.personas, name="personas"),
    path("console/settings", console.emulator_settings, name="settings"),
    path("phone/<str:persona_id>", phone.home, name="phone"),
    path("phone/<str:persona_id>/chat/<str:channel_id>", phone.chat, name="chat"),
    path("phone/<str:persona_id>/chat/<str:channel_id>/messages", phone.messages, name="chat_messages"),
    path("phone/<str:persona_id>/media/<str:message_id>", phone.media, name="media"),
    path("phone/<str:persona_id>/chat/<str:channel_id>/<str:action>", phone.act, name="chat_action"),
]

urlpatterns = line_hosts + control_api + ui

handler404 = "line_emulator.http.not_found"
handler500 = "line_emulator.http.server_error"
