"""Sign a webhook body with a company's channel secret and POST it to the local webhook.

    manage.py line_webhook_replay tests/fixtures/line_events/message_text.json --company abcd1234efgh5678
    manage.py line_webhook_replay body.json --company abcd1234efgh5678 --url http://127.0.0.1:8000

For debugging: the file's bytes are sent exactly as they are (and signed over exactly those
bytes, as LINE does), so its `destination` must be the company's bot user id for a 200. Sending
the same file twice shows the deduplication: the second request stores nothing new.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from line_integration.models import LineIntegration


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


class Command(BaseCommand):
    help = "Sign a LINE webhook JSON body with the company's channel secret and POST it to the webhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the JSON body to send (its exact bytes)")
        parser.add_argument("--company", required=True, help="the company's public id (as in the webhook URL)")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running app (default %(default)s)")
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds (LINE waits 2)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        public_id = options["company"]
        integration = LineIntegration.objects.filter(company__public_id=public_id).first()
        if integration is None or not integration.messaging_channel_secret:
            raise CommandError(f"company {public_id} has no Messaging API channel secret (LINE連携 not set up)")
        if not integration.is_linked:
            self.stderr.write(self.style.WARNING("LINE連携 is not 連携中: the webhook will answer 404."))
        url = options["url"].rstrip("/") + reverse("line:webhook", args=[public_id])
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LineBotWebhook/2.0 (line_webhook_replay)",
            "X-Line-Signature": sign(integration.messaging_channel_secret, body),
        }
        try:
            response = requests.post(url, data=body, headers=headers, timeout=options["timeout"], allow_redirects=False)
        except requests.RequestException as exc:
            raise CommandError(f"POST {url} failed: {exc}") from exc
        style = self.style.SUCCESS if response.ok else self.style.ERROR
        self.stdout.write(style(f"{response.status_code} {response.reason}") + f"  POST {url} ({len(body)} bytes)")
        if response.text:
            self.stdout.write(response.text[:500])
        if not response.ok:
            raise CommandError(f"the webhook answered {response.status_code}")
