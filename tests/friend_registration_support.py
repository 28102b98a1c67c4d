"""Helpers for the friend-registration tests: a candidate's browser made of `requests`, a
linked company wired to the live server, and a small stand-in for api.line.me that forwards
to the emulator but can tamper with the ID token it returns (wrong aud, nonce, signature…).

The app is never patched: LINE is faked at the HTTP boundary only.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import requests

from candidates.models import Candidate
from hrmos.models import Company, User
from line_integration.friends.invitations import issue_invitation
from line_integration.models import callback_url, webhook_url
from tests.conftest import link_to_pair
from tests.line_emulator_fixtures import EmulatorClient, LinkedPair

FAILURE_TEXT = "LINE友達登録を完了できませんでした。再度お試しください。"
COMPLETE_TEXT = "LINE友達登録が完了しました"
ADD_FRIEND_TEXT = "友だち追加する"

_FORM_RE = re.compile(r"<form\b[^>]*\bmethod=\"post\"[^>]*>(.*?)</form>", re.S | re.I)
_ACTION_RE = re.compile(r"<form\b[^>]*\baction=\"([^\"]*)\"", re.I)
_HREF_RE = re.compile(r"href=\"([^\"]+)\"")
_HIDDEN_RE = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*\bname=\"([^\"]+)\"[^>]*\bvalue=\"([^\"]*)\"", re.I)


def link_company(
    emulator: EmulatorClient, company: Company, recruiter: User, persona_name: str = "山田 花子"
) -> LinkedPair:
    """An emulator provider for the company (Login callback and webhook pointing at SITE_URL),
    linked through the real 連携を開始 action."""
    pair = emulator.create_linked_pair(
        callback_url=callback_url(company),
        webhook_url=webhook_url(company),
        persona_name=persona_name,
        provider_name=company.name,
    )
    link_to_pair(company, recruiter, pair)
    return pair


def invite(candidate: Candidate, **kwargs: Any) -> str:
    from django.utils import timezone

    return issue_invitation(candidate, now=kwargs.pop("now", None) or timezone.now(), **kwargs)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def without_param(url: str, name: str) -> str:
    parts = urlsplit(url)
    kept = "&".join(pair for pair in parts.query.split("&") if not pair.startswith(f"{name}="))
    return parts._replace(query=kept).geturl()


@dataclass
class CandidateBrowser:
    """A candidate's browser: one cookie jar for the app and LINE, redirects walked by hand."""

    emulator: EmulatorClient
    session: requests.Session = field(default_factory=requests.Session)

    def get(self, url: str, follow: bool = False) -> requests.Response:
        return self.session.get(url, allow_redirects=follow, timeout=30)

    def press_login(self, page_url: str) -> str:
        """Open the landing page and press 「LINEでログイン」 (the form's hidden fields, i.e. the
        CSRF token, go with it); returns LINE's authorize URL."""
        response = self.submit_landing_form(page_url)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]

    def submit_landing_form(self, page_url: str, *, with_hidden_fields: bool = True) -> requests.Response:
        page = self.get(page_url)
        assert page.status_code == 200, page.text[:500]
        form = _FORM_RE.search(page.text)
        assert form is not None, "the landing page has no POST form"
        action = unescape(_ACTION_RE.search(form.group(0)).group(1))
        fields = {name: unescape(value) for name, value in _HIDDEN_RE.findall(form.group(0))}
        data = fields if with_hidden_fields else {}
        return self.session.post(urljoin(page_url, action), data=data, allow_redirects=False, timeout=30)

    def through_line(self, authorize_url: str, persona_id: str, add_friend: bool = True, cancel: bool = False) -> str:
        """LINE's login, consent and add-friend pages; returns the redirect back to the app."""
        return self.emulator.login_in_browserless(self.session, authorize_url, persona_id, add_friend, cancel)

    def back_to_app(self, callback: str) -> requests.Response:
        """Follow LINE's redirect to our callback and on to the page it leads to."""
        return self.get(callback, follow=True)

    def register(self, invitation_url: str, persona_id: str, add_friend: bool = True) -> requests.Response:
        authorize = self.press_login(invitation_url)
        return self.back_to_app(self.through_line(authorize, persona_id, add_friend=add_friend))

    @staticmethod
    def links(response: requests.Response) -> list[str]:
        return [urljoin(response.url, unescape(href)) for href in _HREF_RE.findall(response.text)]


# --- a stand-in for api.line.me ------------------------------------------------------------


def resign(id_token: str, secret: str, *, key: str | None = None, **claims: Any) -> str:
    """The same ID token with some claims changed, signed with `key` (default: the right secret)."""
    payload = jwt.decode(id_token, options={"verify_signature": False})
    payload.update(claims)
    return jwt.encode(payload, key or secret, algorithm="HS256", headers={"typ": "JWT"})


@dataclass
class FakeLineApi:
    """Forwards every request to the emulator; `tamper` may rewrite the token endpoint's ID token,
    and `fail` answers a path (prefix) with an error status instead of forwarding it."""

    upstream: str
    tamper: Callable[[str], str] | None = None
    fail: dict[str, int] = field(default_factory=dict)
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)
    url: str = ""


def _handler(api: FakeLineApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            api.seen.append((self.command, self.path, body))
            status = next((code for prefix, code in api.fail.items() if self.path.startswith(prefix)), None)
            if status is not None:
                error = b'{"error":"server_error","error_description":"injected"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)
                return
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() in {"authorization", "content-type", "x-line-retry-key"}
            }
            upstream = requests.request(
                self.command, api.upstream + self.path, data=body, headers=headers, timeout=30, allow_redirects=False
            )
            content = upstream.content
            if self.path.startswith("/oauth2/v2.1/token") and upstream.status_code == 200 and api.tamper:
                data = upstream.json()
                data["id_token"] = api.tamper(data["id_token"])
                content = json.dumps(data).encode()
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

    return Handler


@contextmanager
def fake_line_api(upstream: str) -> Iterator[FakeLineApi]:
    api = FakeLineApi(upstream=upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
