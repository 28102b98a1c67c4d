"""Hostile input as a sweep over the whole URLconf, so new views and new fields are covered
automatically: no input ever gets a 5xx.

Every URL (recruiter pages with company A's objects from the tenancy sweep's factories, and
the public ones) gets:
- its query parameters and form fields hostile: the names come from the forms that target the
  URL (found by crawling every page once: `action`, `formaction`, `hx-get`/`hx-post`), from
  the view's form classes, and from the `request.GET/POST` names its source reads. Baseline
  values are the form's own, so one bad field at a time still reaches the code behind the
  form. Each field gets every value of the corpus (rotated so one request carries many), and
  each field alone gets the 100,000-character value;
- file fields: a name over 255 characters, a NUL in the name, a 150-character Content-Type;
- bad ids and hostile text in the path itself.
The raw bytes (invalid UTF-8, a lone surrogate's encoding) are sent as the browser would
percent-encode them, so they reach Django's decoding as they would in production.
The LINE webhook and the inbound-email door get hostile bodies of their own below.
"""

from __future__ import annotations

import inspect
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

import pytest
from django import forms as django_forms
from django.db import transaction
from django.test import Client, override_settings
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone

from events.models import Event
from hrmos.models import Company
from tests.conftest import make_candidate, make_recruiter
from tests.line_webhook_helpers import BOT_USER_ID, body_of, event_of, link_directly, sign
from tests.line_webhook_helpers import SECRET as WEBHOOK_SECRET
from tests.test_tenancy_sweep import ALL_ROUTES, OBJECT_FACTORIES, Objects, Route

pytestmark = pytest.mark.django_db

LONG = b"x" * 100_000
CORPUS: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("long", LONG),
    ("nul", b"a\x00b"),
    ("lone surrogate", b"\xed\xa0\x80"),
    ("invalid utf-8", b"\xff\xfe\xc3("),
    ("emoji", "👨‍👩‍👧🀄".encode()),
    ("rtl", "\u202eabc\u200f".encode()),
    ("cr/lf", b"a\r\nb\rc\n"),
    ("html", b"<script>alert(1)</script>\"'&"),
    ("huge number", b"99999999999999999999999999"),
    ("negative", b"-1"),
    ("bad date", b"2026-02-30T25:61"),
    ("bad id", b"0"),
    ("float", b"1e309"),
]
# Over 255 characters yet under the 1,024 bytes Django allows a part's headers (more is a 400
# for the whole request, which would hide everything behind it).
FILE_NAMES = ["a" * 240 + "履" * 30 + ".pdf", "a\x00b.pdf", "😀\u202e.csv"]
LONG_CONTENT_TYPE = "application/" + "x" * 150
SOURCE_NAMES = re.compile(r"""\b(GET|POST|FILES)(?:\.get|\.getlist|\.pop)?[(\[]\s*["']([\w\-]+)["']""")
PUBLIC_PATH_VALUES = ["\x00", "x" * 5000, "😀", "..%2F"]


# ------------------------------------------------------------------ finding forms and fields


@dataclass
class Target:
    method: str  # "get" or "post"
    route: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)


class FormFinder(HTMLParser):
    """Forms and htmx requests on a page: where they go and their fields with current values."""

    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.targets: list[Target] = []
        self._form: Target | None = None
        self._form_extra: list[Target] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def _target(self, method: str, action: str | None) -> Target | None:
        path = urlsplit(action).path if action else self.page_path
        try:
            match = resolve(path)
        except Resolver404:
            return None
        return Target(method=method, route=match.view_name)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        for verb in ("get", "post"):
            if f"hx-{verb}" in a and (target := self._target(verb, a[f"hx-{verb}"])) is not None:
                (self._form_extra if self._form is not None else self.targets).append(target)
        if tag == "form":
            self._form = self._target(a.get("method", "get").lower(), a.get("action"))
            self._form_extra = []
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "button" and "formaction" in a and (target := self._target("post", a["formaction"])):
            self._form_extra.append(target)
        if not name:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "file":
                self._form.files.add(name)
                return
            values = self._form.fields.setdefault(name, [])
            if kind not in ("checkbox", "radio", "submit") or "checked" in a:
                values.append(a.get("value", "" if kind not in ("checkbox", "radio") else "on"))
        elif tag == "select":
            self._select = name
            self._form.fields.setdefault(name, [])
        elif tag == "option" and self._select and (not self._form.fields[self._select] or "selected" in a):
            self._form.fields[self._select] = [a.get("value", "")]
        elif tag == "textarea":
            self._textarea = name
            self._form.fields.setdefault(name, [""])
        elif tag == "button":
            self._form.fields.setdefault(name, [a.get("value", "")])

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] = [self._form.fields[self._textarea][0] + data]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            for extra in [self._form, *self._form_extra]:
                extra.fields, extra.files = dict(self._form.fields), set(self._form.files)
                self.targets.append(extra)
            self._form = None


def find_targets(client: Client, path: str) -> list[Target]:
    response = client.get(path)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return []
    finder = FormFinder(path)
    finder.feed(response.content.decode("utf-8", errors="replace"))
    return finder.targets


def names_from_source(route: Route) -> dict[str, set[str]]:
    """Parameter names the view reads, and the fields of the form classes it uses."""
    view = resolve_view(route)
    found: dict[str, set[str]] = {"get": set(), "post": set(), "files": set()}
    try:
        source = inspect.getsource(view)
    except (OSError, TypeError):
        return found
    for where, name in SOURCE_NAMES.findall(source):
        found[where.lower()].add(name)
    module = inspect.getmodule(view)
    for word in set(re.findall(r"\b(\w+Form)\(", source)):
        form_class = _form_class(module, word)
        if form_class is not None:
            for name, form_field in getattr(form_class, "base_fields", {}).items():
                where = "files" if isinstance(form_field, django_forms.FileField) else "post"
                found[where].add(name)
    return found


def _form_class(module: Any, name: str) -> type[django_forms.BaseForm] | None:
    for namespace in [module, *[value for value in vars(module).values() if inspect.ismodule(value)]]:
        candidate = getattr(namespace, name, None)
        if inspect.isclass(candidate) and issubclass(candidate, django_forms.BaseForm):
            return candidate
    return None


def resolve_view(route: Route) -> Callable:
    from django.urls import get_resolver

    def walk(patterns: list, namespace: str = "") -> Iterator[tuple[str, Callable]]:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
                yield from walk(pattern.url_patterns, inner)
            elif pattern.name:
                yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern.callback

    view = dict(walk(get_resolver().url_patterns))[route.name]
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return getattr(view, "view_class", view)


# ------------------------------------------------------------------ the pages that post where


@pytest.fixture(scope="module")
def form_sources(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, set[str]]:
    """Route name → the pages (route names) holding a form or htmx request that targets it:
    every page crawled once, in a transaction rolled back afterwards."""
    sources: dict[str, set[str]] = {}
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")),
        transaction.atomic(),
    ):
        company = Company.objects.create(name="クロール株式会社")
        client = Client()
        client.force_login(make_recruiter(company, "crawler"))
        objs = Objects(company=company, cache={})
        for route in ALL_ROUTES:
            path = owner_path(route, objs)
            if path is None:
                continue
            for target in find_targets(client, path):
                sources.setdefault(target.route, set()).add(route.name)
        transaction.set_rollback(True)
    return sources


# ------------------------------------------------------------------ paths


def _public_paths(objs: Objects) -> dict[str, Callable[[], str]]:
    from customforms.links import issue_form_link
    from line_integration.friends.invitations import issue_invitation
    from selection.links import issue_link as issue_scheduling_link
    from selection.models import Schedule
    from tests.customforms_support import make_form
    from tests.events_support import make_event, personal_path

    def answer() -> str:
        form = objs.get("public_form", lambda: make_form(objs.company))
        return issue_form_link(objs.candidate(), form, timezone.now()).split("://", 1)[1].split("/", 1)[1]

    def event() -> Event:
        return objs.get("public_event", lambda: make_event(objs.company))

    def schedule() -> Schedule:
        return objs.get("schedule", lambda: Schedule.objects.create(company=objs.company, name="一次面接"))

    def booking_page() -> str:
        return "/" + issue_scheduling_link(objs.candidate(), schedule(), timezone.now()).split("/", 3)[3]

    return {
        "events_public:personal": lambda: personal_path(objs.candidate(), event()),
        "events_public:public": lambda: reverse("events_public:public", args=[event().public_id]),
        "events_public:public_done": lambda: reverse("events_public:public_done", args=[event().public_id]),
        "selection_public:book": booking_page,
        "customforms_public:answer": lambda: "/" + answer(),
        "customforms_public:done": lambda: "/" + answer() + "done/",
        "line:friend": lambda: "/" + issue_invitation(objs.candidate(), now=timezone.now()).split("/", 3)[3],
        "line:callback": lambda: reverse("line:callback", args=[objs.company.public_id]),
        "line:webhook": lambda: reverse("line:webhook", args=[objs.company.public_id]),
        "line:webhook_no_slash": lambda: reverse("line:webhook_no_slash", args=[objs.company.public_id]),
        "line:friend_result": lambda: reverse("line:friend_result", args=[uuid.uuid4()]),
        "line:friend_retry": lambda: reverse("line:friend_retry", args=[uuid.uuid4()]),
    }


def owner_path(route: Route, objs: Objects) -> str | None:
    public = _public_paths(objs)
    if route.name in public:
        return public[route.name]()
    if any(name not in OBJECT_FACTORIES for name in route.parameters):
        return None  # the tenancy sweep fails for such a URL and says what to add
    return reverse(route.name, kwargs={name: OBJECT_FACTORIES[name](objs) for name in route.parameters})


def hostile_paths(route: Route) -> list[str]:
    """The URL with bad ids: out-of-range integers, unknown UUIDs, hostile text."""
    paths = []
    for variant in range(len(PUBLIC_PATH_VALUES)):
        values = {"IntConverter": [0, 2**63, 10**30, 1][variant], "UUIDConverter": uuid.uuid4()}
        kwargs = {name: values.get(kind, PUBLIC_PATH_VALUES[variant]) for name, kind in route.parameters.items()}
        try:
            paths.append(reverse(route.name, kwargs=kwargs))
        except NoReverseMatch:
            continue
    return sorted(set(paths))


# ------------------------------------------------------------------ requests


def urlencoded(fields: dict[str, list[bytes]]) -> bytes:
    return b"&".join(
        (quote_from_bytes(name.encode()) + "=" + quote_from_bytes(value)).encode()
        for name, values in fields.items()
        for value in values
    )


BOUNDARY = "hostile-sweep-boundary"


def multipart(fields: dict[str, list[bytes]], files: dict[str, tuple[str, str]]) -> bytes:
    parts = []
    for name, values in fields.items():
        for value in values:
            head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(head.encode() + value + b"\r\n")
    for name, (file_name, content_type) in files.items():
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode("utf-8", errors="surrogatepass") + b"%PDF-1.4 hostile\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@dataclass
class Sweep:
    client: Client
    failures: list[str] = field(default_factory=list)
    count: int = 0

    def send(
        self, method: str, path: str, fields: dict[str, list[bytes]], files: dict | None = None, label: str = ""
    ) -> None:
        if method == "get":
            query = urlencoded(fields).decode()
            response = self.client.get(path + ("?" + query if query else ""))
        elif files is not None:
            body = multipart(fields, files)
            response = self.client.post(path, data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")
        else:
            response = self.client.post(path, data=urlencoded(fields), content_type="application/x-www-form-urlencoded")
        self.count += 1
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            why = f"{exc[0].__name__}: {str(exc[1])[:200]}" if exc else ""
            self.failures.append(f"{method.upper()} {path[:120]} [{label[:300]}] → {response.status_code} {why}")


def hostile_variants(baseline: dict[str, list[str]], names: list[str]) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """(what is hostile, the fields): every field gets every corpus value (rotated, so one
    request carries one value per field), then each field alone gets the long value with the
    others at their baseline."""
    base = {name: [value.encode() for value in values] or [b""] for name, values in baseline.items()}
    for name in names:
        base.setdefault(name, [b""])
    ordered = sorted(base)
    for shift in range(len(CORPUS)):
        kinds = {name: CORPUS[(shift + index) % len(CORPUS)] for index, name in enumerate(ordered)}
        label = ", ".join(f"{name}={kind}" for name, (kind, _) in kinds.items())
        yield label, {name: [value] for name, (_, value) in kinds.items()}
    for name in ordered:
        if name != "csrfmiddlewaretoken":
            yield f"{name}=long, the rest as on the page", {**base, name: [LONG]}


STATS = {"requests": 0, "seconds": 0.0}


@pytest.fixture(scope="module", autouse=True)
def _report_the_size(request: pytest.FixtureRequest) -> Iterator[None]:
    """How many requests the sweep sent and how long they took, on the terminal (not a check)."""
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if STATS["requests"] and capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\nhostile-input sweep: {STATS['requests']} requests in {STATS['seconds']:.1f} s")


@pytest.fixture(autouse=True)
def _line_and_mail(settings):
    # Nothing in this sweep may reach a real LINE: a refused port answers at once.
    settings.LINE_API_BASE = settings.LINE_API_DATA_BASE = "http://127.0.0.1:9"
    settings.INBOUND_EMAIL_SECRET = "hostile-sweep-secret"


@pytest.mark.parametrize("route", ALL_ROUTES, ids=str)
def test_no_input_gets_a_server_error(route, company, recruiter, form_sources):
    started = time.monotonic()
    client = Client(raise_request_exception=False)
    client.force_login(recruiter)
    sweep = Sweep(client)
    objs = Objects(company=company, cache={})
    link_directly(company)
    path = owner_path(route, objs)
    assert path is not None, f"{route.name}: add a factory (tenancy sweep) or a public path (_public_paths) for it"

    routes = {r.name: r for r in ALL_ROUTES}
    pages = [owner_path(routes[page], objs) for page in sorted(form_sources.get(route.name, set()) | {route.name})]
    targets = [
        target
        for page in pages
        if page is not None
        for target in find_targets(client, page)
        if target.route == route.name
    ]
    from_source = names_from_source(route)
    for method in ("get", "post"):
        chosen = [target for target in targets if target.method == method]
        baseline: dict[str, list[str]] = {}
        files = set(from_source["files"]) if method == "post" else set()
        for target in chosen:
            baseline.update(target.fields)
            files |= target.files
        names = sorted(from_source[method] | set(baseline))
        if method == "get" and not names:
            sweep.send("get", path, {})
            continue
        for shift, (label, variant) in enumerate(hostile_variants(baseline, names)):
            uploads = {
                name: (FILE_NAMES[(shift + i) % len(FILE_NAMES)], LONG_CONTENT_TYPE) for i, name in enumerate(files)
            }
            sweep.send(method, path, variant, uploads if files else None, label)
    for bad_path in hostile_paths(route) if route.parameters else []:
        sweep.send("get", bad_path, {}, label="bad path")
        sweep.send("post", bad_path, {"x": [b"\x00"]}, label="bad path")

    STATS["requests"] += sweep.count
    STATS["seconds"] += time.monotonic() - started
    assert not sweep.failures, f"{route.name}: {len(sweep.failures)} of {sweep.count} requests got 5xx:\n" + "\n".join(
        sweep.failures[:10]
    )


def test_the_sweep_reaches_the_forms_behind_the_pages(company, recruiter, form_sources):
    """The crawl finds what posts where, e.g. the compose page's live preview and the CSV
    upload's file field; otherwise the sweep above would test little."""
    assert "messaging:compose_bulk" in form_sources["messaging:compose_preview"]
    assert "candidates:list" in form_sources["candidates:list"]
    client = Client()
    client.force_login(recruiter)
    targets = find_targets(client, reverse("candidates:import"))
    [upload] = [t for t in targets if t.method == "post" and t.route == "candidates:import"]
    assert upload.files == {"file"}


# ------------------------------------------------------------------ the two machine doors


def _hostile_emails(company: Company, sender: str) -> Iterator[bytes]:
    to = f"reply+{company.public_id}@localhost"
    for subject, body, name in [
        ("件名\x00NUL", "本文", "山田"),
        ("件名", "本文\x00NUL", "山田"),
        ("件名", "本文", "山田\x00花子"),
        ("x" * 100_000, "本文", "😀\u202e"),
    ]:
        message = EmailMessage()
        message["From"] = f"{name} <{sender}>"
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        yield message.as_bytes()
    headers = f"From: =?bogus-charset?B?5bGx55Sw?= <{sender}>\r\nTo: {to}\r\n"
    yield (headers + "Subject: =?x-unknown?Q?=00=00?=\r\nContent-Type: text/plain; charset=bogus\r\n\r\n").encode()
    yield (headers + "Subject: raw \xff\xfe\r\nContent-Type: text/plain; charset=utf-16\r\n\r\n").encode(
        "latin-1"
    ) + b"\x00\x00\xff\xfe"
    attachment = EmailMessage()
    attachment["From"], attachment["To"], attachment["Subject"] = sender, to, "添付"
    attachment.set_content("本文")
    attachment.add_attachment(b"%PDF", maintype="application", subtype="x" * 150, filename="a" * 300 + ".pdf")
    yield attachment.as_bytes()
    yield b""
    yield b"\x00" * 1000


def test_the_inbound_email_door_never_answers_5xx(client, company, settings):
    make_candidate(company, email="hanako@example.com")
    sweep = Sweep(Client(raise_request_exception=False))
    for raw in _hostile_emails(company, "hanako@example.com"):
        response = sweep.client.post(
            reverse("messaging:inbound_email"),
            data=raw,
            content_type="message/rfc822",
            headers={"X-Inbound-Email-Secret": settings.INBOUND_EMAIL_SECRET},
        )
        sweep.count += 1
        assert response.status_code < 500, (raw[:200], response.status_code, response.content[:300])


def test_the_line_webhook_never_answers_5xx(company):
    link_directly(company)
    client = Client(raise_request_exception=False)
    path = reverse("line:webhook", args=[company.public_id])
    text = event_of("message_text")
    bodies = [b"", b"\x00", b"{", LONG, b'{"destination": 1, "events": "x"}']
    for value in ["\u0000", "\ud800", "x" * 100_000, "😀\u202e", 10**30]:
        event = {**text, "webhookEventId": str(uuid.uuid4()), "message": {**text["message"], "text": value}}
        bodies.append(json.dumps({"destination": BOT_USER_ID, "events": [event]}).encode())
    bodies.append(body_of({**text, "timestamp": 10**30, "webhookEventId": "😀" * 100}))
    for body in bodies:
        for signature in (sign(WEBHOOK_SECRET, body), "bad"):
            response = client.post(
                path, data=body, content_type="application/json", headers={"x-line-signature": signature}
            )
            assert response.status_code < 500, (body[:100], response.status_code)
