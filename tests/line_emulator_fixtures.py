"""Pytest fixtures that run the LINE platform emulator as a subprocess and drive its control API.

    def test_something(line_emulator):
        pair = line_emulator.create_linked_pair(callback_url="http://testserver/line/callback/x/")
        ...  # settings.LINE_API_BASE and the other LINE_*_BASE already point at the emulator

`line_emulator_server` starts one emulator per test session (its own SQLite file in a tmp dir);
`line_emulator` resets it before each test and returns an `EmulatorClient`. The control API is
documented in line_emulator/README.md.
"""

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

REPO_DIR = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30


@dataclass(frozen=True)
class LinkedPair:
    """A provider with a Messaging API channel, a published Login channel linked to it, and one persona."""

    provider_id: int
    messaging_channel_id: str
    messaging_channel_secret: str
    bot_user_id: str
    basic_id: str
    oa_display_name: str
    login_channel_id: str
    login_channel_secret: str
    callback_url: str
    persona_id: str
    user_id: str


class EmulatorLoginError(AssertionError):
    """A LINE Login page answered with an error page instead of a form or a redirect."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"LINE Login page answered {status}: {text[:300]}")
        self.status = status
        self.text = text


class _Forms(HTMLParser):
    """The POST forms of a page: their action, `data-step` and hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and attributes.get("method", "get").lower() == "post":
            self.forms.append(
                {"action": attributes.get("action", ""), "step": attributes.get("data-step", ""), "fields": {}}
            )
        elif tag == "input" and self.forms and attributes.get("type") == "hidden" and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value", "")


class EmulatorClient:
    """A typed wrapper over the emulator's control API (/_emu/...)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, json: dict[str, Any] | None = None, **params: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}{path}", json=json, params=params or None, timeout=30)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    # State ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        self._call("POST", "/_emu/reset")

    def create_provider(self, name: str = "テスト株式会社") -> int:
        return self._call("POST", "/_emu/providers", {"name": name})["provider_id"]

    def create_messaging_channel(
        self, provider_id: int, display_name: str = "テスト採用", **fields: Any
    ) -> dict[str, Any]:
        """Returns channel_id, channel_secret, bot_user_id, basic_id, display_name, ..."""
        body = {"type": "messaging", "provider_id": provider_id, "display_name": display_name, **fields}
        return self._call("POST", "/_emu/channels", body)

    def create_login_channel(
        self,
        provider_id: int,
        callback_urls: list[str] | tuple[str, ...] = (),
        status: str = "published",
        linked_oa: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        body = {
            "type": "login",
            "provider_id": provider_id,
            "callback_urls": list(callback_urls),
            "status": status,
            "linked_oa": linked_oa,
            **fields,
        }
        return self._call("POST", "/_emu/channels", body)

    def channel(self, channel_id: str) -> dict[str, Any]:
        return self._call("GET", f"/_emu/channels/{channel_id}")

    def set_channel(self, channel_id: str, **changes: Any) -> dict[str, Any]:
        """webhook_url, webhook_active, redelivery_enabled, quota, monthly_usage, status, callback_urls, ..."""
        return self._call("PATCH", f"/_emu/channels/{channel_id}", changes)

    def issue_long_lived_token(self, channel_id: str) -> str:
        return self._call("POST", f"/_emu/channels/{channel_id}/long-lived-token")["access_token"]

    def create_persona(self, display_name: str = "山田 花子", persona_id: str | None = None, **fields: Any) -> str:
        body = {"display_name": display_name, "persona_id": persona_id, **fields}
        return self._call("POST", "/_emu/personas", body)["persona_id"]

    # One persona and one channel -----------------------------------------------------------------

    def user(self, channel_id: str, persona_id: str) -> dict[str, Any]:
        """user_id (provider-scoped), friend_state (following | blocked | none), consented_scopes."""
        return self._call("GET", f"/_emu/channels/{channel_id}/users/{persona_id}")

    def user_id(self, channel_id: str, persona_id: str) -> str:
        return self.user(channel_id, persona_id)["user_id"]

    def _friendship(self, channel_id: str, persona_id: str, verb: str) -> str | None:
        return self._call("POST", f"/_emu/channels/{channel_id}/users/{persona_id}/{verb}")["webhook_event_id"]

    def follow(self, channel_id: str, persona_id: str) -> str | None:
        """Add the OA as a friend; returns the follow event's webhookEventId (None if already a friend)."""
        return self._friendship(channel_id, persona_id, "follow")

    def block(self, channel_id: str, persona_id: str) -> str | None:
        return self._friendship(channel_id, persona_id, "block")

    def unblock(self, channel_id: str, persona_id: str) -> str | None:
        return self._friendship(channel_id, persona_id, "unblock")

    def send_message(self, channel_id: str, persona_id: str, **spec: Any) -> dict[str, Any]:
        """The persona sends a message; returns message_id, webhook_event_id, reply_token, message."""
        return self._call("POST", f"/_emu/channels/{channel_id}/users/{persona_id}/messages", spec)

    def send_text(self, channel_id: str, persona_id: str, text: str) -> dict[str, Any]:
        return self.send_message(channel_id, persona_id, type="text", text=text)

    def send_sticker(
        self, channel_id: str, persona_id: str, package_id: str = "446", sticker_id: str = "1988"
    ) -> dict[str, Any]:
        return self.send_message(channel_id, persona_id, type="sticker", package_id=package_id, sticker_id=sticker_id)

    def send_image(
        self, channel_id: str, persona_id: str, content: bytes, content_type: str = "image/jpeg"
    ) -> dict[str, Any]:
        encoded = base64.b64encode(content).decode()
        return self.send_message(
            channel_id, persona_id, type="image", content_base64=encoded, content_type=content_type
        )

    def send_file(
        self,
        channel_id: str,
        persona_id: str,
        content: bytes,
        file_name: str = "履歴書.pdf",
        content_type: str = "application/pdf",
    ) -> dict[str, Any]:
        encoded = base64.b64encode(content).decode()
        return self.send_message(
            channel_id, persona_id, type="file", content_base64=encoded, file_name=file_name, content_type=content_type
        )

    def send_location(
        self, channel_id: str, persona_id: str, latitude: float = 35.681236, longitude: float = 139.767125
    ) -> dict[str, Any]:
        return self.send_message(
            channel_id, persona_id, type="location", title="東京駅", address="東京都千代田区丸の内1丁目",
            latitude=latitude, longitude=longitude,
        )  # fmt: skip

    def postback(self, channel_id: str, persona_id: str, data: str, params: dict[str, str] | None = None) -> dict:
        return self._call(
            "POST", f"/_emu/channels/{channel_id}/users/{persona_id}/postback", {"data": data, "params": params}
        )

    def unsend(self, channel_id: str, persona_id: str, message_id: str) -> str:
        path = f"/_emu/channels/{channel_id}/users/{persona_id}/unsend/{message_id}"
        return self._call("POST", path)["webhook_event_id"]

    # Inspection ----------------------------------------------------------------------------------

    def outbox(self, channel_id: str, **filters: str) -> list[dict[str, Any]]:
        """Pushed, multicast and replied messages, one row per recipient (filters: to, kind, retry_key)."""
        return self._call("GET", f"/_emu/channels/{channel_id}/outbox", None, **filters)["messages"]

    def webhook_log(self, channel_id: str) -> list[dict[str, Any]]:
        """Each delivery attempt: event_ids, status_code, reason, is_redelivery, latency_ms, body, signature."""
        return self._call("GET", f"/_emu/channels/{channel_id}/webhook-log")["attempts"]

    def events(self, channel_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/_emu/channels/{channel_id}/events")["events"]

    def tokens(self, channel_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/_emu/channels/{channel_id}/tokens")["tokens"]

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until no webhook is in flight or due now (scheduled redeliveries excepted)."""
        return self._call("POST", "/_emu/webhooks/wait", {"timeout": timeout})["idle"]

    def wait_for_attempts(self, channel_id: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            attempts = self.webhook_log(channel_id)
            if len(attempts) >= count or time.monotonic() > deadline:
                return attempts
            time.sleep(0.02)

    # Knobs ---------------------------------------------------------------------------------------

    def fault(self, endpoint: str, mode: str, count: int = 1, channel_id: str | None = None) -> dict[str, Any]:
        """endpoint like "POST /v2/bot/message/push"; mode 500 | timeout | reset | 429-rate | 429-quota |
        accept-then-500 | accept-then-reset | accept-then-timeout | 202."""
        body = {"endpoint": endpoint, "mode": mode, "count": count, "channel_id": channel_id}
        return self._call("POST", "/_emu/faults", body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/_emu/faults")

    def advance_clock(self, seconds: float) -> str:
        return self._call("POST", "/_emu/clock", {"advance_seconds": seconds})["now"]

    def set_settings(self, **changes: Any) -> dict[str, Any]:
        """rate_limits, follow_webhook_delay_ms, redelivery, webhook_timeout_ms, chaos, ... (README)."""
        return self._call("PATCH", "/_emu/settings", changes)

    # Ready-made worlds ---------------------------------------------------------------------------

    def create_linked_pair(
        self,
        callback_url: str = "http://testserver/line/callback/",
        webhook_url: str | None = None,
        persona_name: str = "山田 花子",
        provider_name: str = "テスト株式会社",
        follow: bool = False,
    ) -> LinkedPair:
        provider_id = self.create_provider(provider_name)
        oa = self.create_messaging_channel(provider_id, display_name="テスト採用", webhook_url=webhook_url or "")
        login = self.create_login_channel(provider_id, callback_urls=[callback_url], linked_oa=oa["channel_id"])
        persona_id = self.create_persona(persona_name)
        if follow:
            self.follow(oa["channel_id"], persona_id)
        return LinkedPair(
            provider_id=provider_id,
            messaging_channel_id=oa["channel_id"],
            messaging_channel_secret=oa["channel_secret"],
            bot_user_id=oa["bot_user_id"],
            basic_id=oa["basic_id"],
            oa_display_name=oa["display_name"],
            login_channel_id=login["channel_id"],
            login_channel_secret=login["channel_secret"],
            callback_url=callback_url,
            persona_id=persona_id,
            user_id=self.user_id(oa["channel_id"], persona_id),
        )

    def login_in_browserless(
        self,
        session: requests.Session,
        authorize_url: str,
        persona_id: str,
        add_friend: bool = True,
        cancel: bool = False,
    ) -> str:
        """Walk LINE Login's pages (login → consent → add friend) with plain HTTP, as `persona_id`.

        Returns the final redirect's Location, pointing at the app's callback (not followed).
        `cancel=True` presses キャンセル on the first page. Raises EmulatorLoginError on a 400 page.
        """
        emulator = urlsplit(self.base_url).netloc
        response = session.get(authorize_url, allow_redirects=False, timeout=30)
        for _ in range(10):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if urlsplit(location).netloc != emulator:
                    return location
                response = session.get(location, allow_redirects=False, timeout=30)
                continue
            if response.status_code != 200:
                raise EmulatorLoginError(response.status_code, response.text)
            parser = _Forms()
            parser.feed(response.text)
            form = next(form for form in parser.forms if form["step"])
            fields = dict(form["fields"])
            if cancel:
                fields["action"] = "cancel"
            elif form["step"] == "login":
                fields.update(persona_id=persona_id, action="login")
            elif form["step"] == "consent":
                fields["action"] = "allow"
                if add_friend:
                    fields["add_friend"] = "on"
            elif form["step"] == "add-friend":
                fields["action"] = "add" if add_friend else "skip"
            response = session.post(
                urljoin(response.url, form["action"]), data=fields, allow_redirects=False, timeout=30
            )
        raise AssertionError("LINE Login did not redirect back to the app within 10 pages")


def callback_params(location: str) -> dict[str, str]:
    """The query of a redirect back to the app, e.g. {"code", "state", "friendship_status_changed"}."""
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def line_emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One emulator process for the whole session; yields its base URL (no trailing slash)."""
    folder = tmp_path_factory.mktemp("line_emulator")
    port = _free_port()
    log_path = folder / "emulator.log"
    command = [sys.executable, "-m", "line_emulator", "--port", str(port), "--data", str(folder / "emulator.sqlite3")]
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_DIR, stdout=log, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the LINE emulator did not start:\n{log_path.read_text(errors='replace')}", pytrace=False)
            try:
                if requests.get(f"{base_url}/_emu/health", timeout=1).ok:
                    break
            except requests.RequestException:  # not listening yet, or too busy starting to answer in time
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def line_emulator(line_emulator_server: str, settings: Any) -> Iterator[EmulatorClient]:
    """A freshly reset emulator, with the app's LINE_*_BASE settings pointing at it."""
    client = EmulatorClient(line_emulator_server)
    client.reset()
    settings.LINE_API_BASE = line_emulator_server
    settings.LINE_API_DATA_BASE = line_emulator_server
    settings.LINE_ACCESS_BASE = line_emulator_server
    settings.LINE_WEB_BASE = line_emulator_server
    settings.LINE_STICKER_BASE = line_emulator_server
    yield client
    client.close()
