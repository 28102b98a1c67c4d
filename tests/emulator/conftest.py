"""Helpers for the emulator's own tests: a real webhook receiver and real line-bot-sdk clients."""

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob
from linebot.v3.oauth import ApiClient as OAuthApiClient
from linebot.v3.oauth import ChannelAccessToken
from linebot.v3.oauth import Configuration as OAuthConfiguration

from tests.line_emulator_fixtures import EmulatorClient, LinkedPair


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


class WebhookReceiver:
    """A stdlib HTTP server in a thread that records every POST; answers come from `statuses`, else 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()
        self.delay_seconds = 0.0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._cond:
                    receiver.received.append(Received(body, {k.lower(): v for k, v in self.headers.items()}))
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                    receiver._cond.notify_all()
                time.sleep(receiver.delay_seconds)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/line/webhook/"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count and time.monotonic() < deadline:
                self._cond.wait(timeout=max(deadline - time.monotonic(), 0.01))
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(line_emulator: EmulatorClient) -> Iterator[WebhookReceiver]:
    # A loaded CI machine must not turn a fast receiver into a 2-second timeout; the timeout test sets its own.
    line_emulator.set_settings(webhook_timeout_ms=10_000)
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def pair(line_emulator: EmulatorClient) -> LinkedPair:
    """A linked pair whose persona already follows the OA."""
    return line_emulator.create_linked_pair(follow=True)


@pytest.fixture
def token(line_emulator: EmulatorClient, pair: LinkedPair) -> str:
    """A long-lived token (console-issued), so tests may move the clock by days."""
    return line_emulator.issue_long_lived_token(pair.messaging_channel_id)


@pytest.fixture
def messaging(line_emulator: EmulatorClient, token: str) -> Iterator[MessagingApi]:
    with ApiClient(Configuration(host=line_emulator.base_url, access_token=token)) as client:
        yield MessagingApi(client)


@pytest.fixture
def blob(line_emulator: EmulatorClient, token: str) -> Iterator[MessagingApiBlob]:
    with ApiClient(Configuration(host=line_emulator.base_url, access_token=token)) as client:
        yield MessagingApiBlob(client)


@pytest.fixture
def oauth(line_emulator: EmulatorClient) -> Iterator[ChannelAccessToken]:
    with OAuthApiClient(OAuthConfiguration(host=line_emulator.base_url)) as client:
        yield ChannelAccessToken(client)
