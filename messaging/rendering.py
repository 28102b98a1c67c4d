"""Per-recipient personalisation: `{{候補者氏名}}` style placeholders, and the LINE copy.

Rendering is pure (no database, no network) so compose-time validation, the preview and the
delivery workers all use the same code and produce the same text. `render_delivery` reads a
delivery's send, company and candidate, which the workers load with the claimed batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from messaging import placeholders
from messaging.placeholders import Recipient, SendScope

if TYPE_CHECKING:
    from candidates.models import Candidate
    from hrmos.models import Company
    from messaging.models import Delivery, Send

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}\s][^{}]*?)\s*\}\}")
LINE_BREAKS_RE = re.compile(r"\s*[\r\n]+\s*")

FULL_NAME = "候補者氏名"
LAST_NAME = "姓"
FIRST_NAME = "名"
COMPANY_NAME = "企業名"
SENDER_NAME = "送信者名"
SENDER_DEPARTMENT = "送信者部署"
FRIEND_URL = "LINE友達登録URL"

PLACEHOLDERS: dict[str, str] = {
    FULL_NAME: "候補者の氏名（例：山田 花子）",
    LAST_NAME: "候補者の姓",
    FIRST_NAME: "候補者の名",
    COMPANY_NAME: "企業名",
    SENDER_NAME: "送信者（採用担当者）の氏名",
    SENDER_DEPARTMENT: "送信者（採用担当者）の所属部署（プロフィールで設定）",
    FRIEND_URL: "候補者ごとのLINE友達登録URL（一括送信で「あり」のときのみ）",
}

# What the timeline copy (and LINE) shows instead of a friend-registration URL: the raw
# token exists only in the outgoing email.
FRIEND_URL_STANDIN = "（LINE友達登録URL）"
FRIEND_URL_LINE_STANDIN = "（LINE友達登録URLはメールでお送りしています）"
FRIEND_URL_EXPLANATION = "LINEで選考のご連絡を受け取れます。以下のURLから友達登録をお願いします（有効期限：1週間）。"

LINE_TEXT_LIMIT = 5000
LINE_MAX_MESSAGES = 5
LINE_TOTAL_LIMIT = LINE_TEXT_LIMIT * LINE_MAX_MESSAGES
# Room kept in a LINE text for each personal link minted into it when it goes out.
LINK_ROOM = 200
# Inserted after each "{" of a placeholder's value, so that no later pass (personal links,
# stand-ins) reads text that came from a value (a name, a candidate's answer) as a placeholder;
# the copies that go out or onto the timeline have it taken out (`unguarded`). WORD JOINER:
# invisible, and nobody types it.
VALUE_GUARD = "\u2060"


@dataclass(frozen=True)
class RecipientContext:
    """The values placeholders draw from, for one recipient: the built-in ones here, and those
    registered by other apps (`placeholders.py`) through the send's `scope`."""

    last_name: str
    first_name: str
    company_name: str
    sender_name: str
    candidate_id: int | None = None
    scope: SendScope | None = None
    sender_department: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()

    def values(self, names: Iterable[str] = ()) -> dict[str, str]:
        """The built-in values, and the registered value placeholders among `names` that this
        recipient has a value for."""
        values = {
            FULL_NAME: self.full_name,
            LAST_NAME: self.last_name,
            FIRST_NAME: self.first_name,
            COMPANY_NAME: self.company_name,
            SENDER_NAME: self.sender_name,
        }
        if self.sender_department:
            # Never rendered empty: compose refuses {{送信者部署}} without one (sender_problems).
            values[SENDER_DEPARTMENT] = self.sender_department
        for name in names:
            value = self.registered_value(name)
            if value is not None:
                values[name] = value
        return values

    def registered_value(self, name: str) -> str | None:
        placeholder = placeholders.get(name)
        if placeholder is None or placeholder.value is None or self.scope is None:
            return None
        if not placeholder.available_in(self.scope.context):
            return None
        return placeholder.value(Recipient(self.scope, self.candidate_id))


def placeholders_in(*texts: str) -> list[str]:
    found: list[str] = []
    for text in texts:
        for match in PLACEHOLDER_RE.finditer(text or ""):
            if match.group(1) not in found:
                found.append(match.group(1))
    return found


def unknown_placeholders(*texts: str, allow_friend_url: bool = True) -> list[str]:
    allowed = set(PLACEHOLDERS) - (set() if allow_friend_url else {FRIEND_URL})
    return [name for name in placeholders_in(*texts) if name not in allowed and placeholders.get(name) is None]


def render(template: str, values: Mapping[str, str], *, keep: frozenset[str] = frozenset()) -> str:
    """Substitute known placeholders; names in `keep` stay as `{{name}}` for a later pass."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name in keep:
            return "{{" + name + "}}"
        return values.get(name, match.group(0))

    return PLACEHOLDER_RE.sub(substitute, template or "")


@dataclass(frozen=True)
class Rendered:
    subject: str
    # The email body with `{{LINE友達登録URL}}` still in it when the send carries a friend
    # invitation: the URL is minted at the moment the email goes out (see email_delivery).
    # It and the LINE texts keep their values' braces guarded until `fill_links`.
    email_body: str
    timeline_body: str
    line_texts: list[str]


def one_line(text: str) -> str:
    """A subject is one line: a line break (from a placeholder's value, e.g. a name imported
    from CSV) becomes a space, or the email header would be refused."""
    return LINE_BREAKS_RE.sub(" ", text).strip()


def guarded(value: str) -> str:
    return value.replace("{", "{" + VALUE_GUARD)


def unguarded(text: str) -> str:
    return text.replace("{" + VALUE_GUARD, "{")


def render_for_recipient(
    subject: str, body: str, context: RecipientContext, *, friend_invitation: bool, line: bool = True
) -> Rendered:
    """The recipient's copies. Personal links (the friend-registration URL, registered link
    placeholders) stay as `{{name}}` in the email and LINE copies, to be minted as each goes
    out (`fill_links`); the timeline copy shows a stand-in for them. Values are inserted
    verbatim: a `{{…}}` inside one (a candidate's answer) is never substituted.

    `line=False` leaves the LINE copy out: only a send that goes to LINE is limited by LINE's
    size (`split_for_line` raises ValueError on text that cannot fit)."""
    names = placeholders_in(subject, body)
    values = {name: guarded(value) for name, value in context.values(names).items()}
    links = frozenset(names) & placeholders.link_names()
    rendered_subject = one_line(render(subject, values, keep=links))
    if friend_invitation:
        email_body = render(body, values, keep=links | {FRIEND_URL})
        if "{{" + FRIEND_URL + "}}" not in email_body:
            email_body = f"{email_body.rstrip()}\n\n{FRIEND_URL_EXPLANATION}\n{{{{{FRIEND_URL}}}}}\n"
    else:
        email_body = render(body, {**values, FRIEND_URL: ""}, keep=links)
    standins = {name: f"（{name}）" for name in links}
    timeline_body = unguarded(render(email_body, {FRIEND_URL: FRIEND_URL_STANDIN, **standins}))
    line_body = render(email_body, {FRIEND_URL: FRIEND_URL_LINE_STANDIN}) if friend_invitation else email_body
    room = LINK_ROOM * sum(1 for match in PLACEHOLDER_RE.finditer(line_body) if match.group(1) in links)
    return Rendered(
        subject=unguarded(rendered_subject),
        email_body=email_body,
        timeline_body=timeline_body,
        line_texts=split_for_line(line_text(rendered_subject, line_body), room=room) if line else [],
    )


def as_shown(text: str) -> str:
    """A stored copy as a person should read it before it goes out (the compose preview):
    personal links as their stand-ins, values' braces unguarded."""
    links = {name: f"（{name}）" for name in placeholders_in(text) if name in placeholders.link_names()}
    return unguarded(render(text, links))


def fill_links(text: str, recipient: Recipient, now: datetime) -> str:
    """Mint the personal links left in a stored copy, for the message that goes out now. The
    token comes from the delivery, so every attempt of one delivery gets the same URLs."""
    names = [name for name in placeholders_in(text) if name in placeholders.link_names()]
    if not names or recipient.delivery_id is None:
        return unguarded(text)
    urls = {}
    for name in names:
        placeholder = placeholders.get(name)
        assert placeholder is not None and placeholder.link is not None
        urls[name] = placeholder.link(recipient, placeholders.link_token(recipient.delivery_id, name), now)
    return unguarded(render(text, urls))


def line_text(subject: str, body: str) -> str:
    """The LINE copy has the email's content: subject line, blank line, body."""
    body = body.strip("\n")
    return f"{subject}\n\n{body}" if subject else body


def split_for_line(text: str, *, room: int = 0) -> list[str]:
    """Split into at most 5 texts of at most 5,000 characters, preferring line breaks; `room`
    characters of each text are kept free for the links minted into it later.

    Raises ValueError when the text cannot fit; compose refuses such text before this point.
    """
    limit = LINE_TEXT_LIMIT - room
    if len(text) + room > LINE_TOTAL_LIMIT:
        raise ValueError("LINEで送信できる文字数を超えています。")
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit)
        cut = cut + 1 if cut > 0 else limit
        parts.append(rest[:cut])
        rest = rest[cut:]
    parts.append(rest)
    parts = [p for p in parts if p.strip()] or [text or " "]
    if len(parts) > LINE_MAX_MESSAGES:
        # Breaking at line ends may waste room; fall back to exact cuts.
        parts = [text[i : i + limit] for i in range(0, len(text), limit)]
    return parts


def line_copy(subject: str, body: str) -> list[str]:
    return split_for_line(line_text(subject, body))


def context_for(
    candidate: Candidate | None, company: Company, sender_name: str, scope: SendScope | None = None
) -> RecipientContext:
    return RecipientContext(
        last_name=candidate.last_name if candidate else "",
        first_name=candidate.first_name if candidate else "",
        company_name=company.name,
        sender_name=sender_name,
        candidate_id=candidate.pk if candidate else None,
        scope=scope,
        sender_department=scope.sender_department if scope else "",
    )


def scope_of(send: Send, candidate_ids: Iterable[int | None] = ()) -> SendScope:
    """`candidate_ids`: the recipients it will render for, if known (see SendScope)."""
    return SendScope(
        company=send.company,
        sender_name=send.sender_name,
        kind=send.kind,
        context=send.context,
        sender_department=send.sender_department,
        candidate_ids=tuple(pk for pk in candidate_ids if pk is not None),
    )


def render_delivery(delivery: Delivery, scope: SendScope | None = None) -> Rendered:
    """What this delivery's recipient gets: the send's subject and body filled in for them
    (`scope`: share one per batch of a send, so context objects load once)."""
    send = delivery.send
    return render_for_recipient(
        send.subject,
        send.body,
        context_for(delivery.candidate, send.company, send.sender_name, scope or scope_of(send)),
        friend_invitation=send.include_friend_invitation,
    )


def recipient_of(delivery: Delivery, scope: SendScope | None = None) -> Recipient:
    """The delivery's recipient for minting its personal links."""
    return Recipient(scope or scope_of(delivery.send), delivery.candidate_id, delivery_id=delivery.id)
