"""The demo's LINE side: one provider with a published Login channel linked to its Official Account,
and a few candidates to play. Idempotent; secrets are generated once and kept in the emulator's DB.
"""

import json
from typing import Any

from django.conf import settings

from line_emulator import actions
from line_emulator.models import Channel, Persona, Provider

PROVIDER_NAME = "HRMOSデモ株式会社"
OA_NAME = "HRMOSデモ採用"
LOGIN_NAME = "HRMOSデモ 友だち登録"
PERSONAS = [
    ("yamada-hanako", "山田 花子", "hanako.yamada@example.com", "27卒・文学部です🌸"),
    ("sato-kenta", "佐藤 健太", "kenta.sato@example.com", "理工学部 情報工学科"),
    ("suzuki-misaki", "鈴木 美咲", "misaki.suzuki@example.com", "就活がんばります！"),
    ("takahashi-sho", "高橋 翔", "sho.takahashi@example.com", ""),
]


def seed(webhook_url: str | None = None, callback_urls: list[str] | None = None) -> dict[str, Any]:
    provider = Provider.objects.filter(name=PROVIDER_NAME).order_by("pk").first() or actions.create_provider(
        PROVIDER_NAME
    )
    oa = Channel.objects.filter(provider=provider, kind=Channel.MESSAGING, name=OA_NAME).first()
    if oa is None:
        oa = actions.create_messaging_channel(
            provider,
            OA_NAME,
            display_name=OA_NAME,
            description="新卒採用のご案内をお送りするLINE公式アカウントです。",
            webhook_active=True,
            redelivery_enabled=True,
        )
    login = Channel.objects.filter(provider=provider, kind=Channel.LOGIN, name=LOGIN_NAME).first()
    if login is None:
        login = actions.create_login_channel(
            provider,
            LOGIN_NAME,
            description="HRMOSデモ株式会社の採用連絡をLINEで受け取るための友だち登録です。",
            status=Channel.PUBLISHED,
            linked_oa=oa.channel_id,
        )
    if webhook_url:
        oa = actions.update_channel(oa, {"webhook_url": webhook_url})
    if callback_urls:
        merged = list(dict.fromkeys([*login.callback_urls, *callback_urls]))
        login = actions.update_channel(login, {"callback_urls": merged})
    if not actions.long_lived_token(oa):
        actions.issue_long_lived_token(oa)
    for persona_id, name, email, status in PERSONAS:
        if not Persona.objects.filter(persona_id=persona_id).exists():
            actions.create_persona(name, persona_id, email=email, status_message=status)
    return {
        "provider": {"provider_id": provider.pk, "name": provider.name},
        "messaging": {
            "channel_id": oa.channel_id,
            "channel_secret": oa.secret,
            "bot_user_id": oa.bot_user_id,
            "basic_id": oa.basic_id,
            "display_name": oa.display_name,
            "webhook_url": oa.webhook_url,
            "long_lived_token": actions.long_lived_token(oa),
        },
        "login": {
            "channel_id": login.channel_id,
            "channel_secret": login.secret,
            "status": login.status,
            "callback_urls": login.callback_urls,
            "linked_oa": oa.channel_id,
        },
        "personas": [
            {
                "persona_id": persona.persona_id,
                "display_name": persona.display_name,
                "user_id": actions.user_id_of(provider, persona),
            }
            for persona in Persona.objects.filter(persona_id__in=[p[0] for p in PERSONAS]).order_by("created_at")
        ],
    }


def print_seed(data: dict[str, Any], port: int, *, as_json: bool = False) -> None:
    base = f"http://127.0.0.1:{port}"
    if as_json:
        print(json.dumps({**data, "console_url": f"{base}/"}, ensure_ascii=False, indent=2))
        return
    messaging, login = data["messaging"], data["login"]
    callbacks = ", ".join(login["callback_urls"]) or "(none yet)"
    lines = [
        f"LINE emulator demo data ({settings.DATA_PATH})",
        f"  Provider        {data['provider']['name']}",
        f"  Messaging API   channel id {messaging['channel_id']}  secret {messaging['channel_secret']}",
        f"                  {messaging['display_name']} {messaging['basic_id']}  bot userId {messaging['bot_user_id']}",
        f"  LINE Login      channel id {login['channel_id']}  secret {login['channel_secret']}",
        f"                  {login['status']}, linked to the OA, callback URLs: {callbacks}",
    ]
    for persona in data["personas"]:
        lines.append(f"  Phone           {base}/phone/{persona['persona_id']}  ({persona['display_name']})")
    lines.append(f"  Console         {base}/")
    print("\n".join(lines))
