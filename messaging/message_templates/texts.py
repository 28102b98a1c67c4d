"""A template's text outside a send: which placeholders it may use, and what it looks like
for a sample candidate of the company.

A saved template is not tied to a send, so only the NAMES of its placeholders can be judged
when it is saved (an unknown one is a typo, refused). Whether a known one has a value, e.g.
{{イベント名}} in a send without an event, is compose's judgement when the template is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from candidates.models import Candidate
from hrmos.models import Company
from messaging import placeholders, rendering
from messaging.models import Kind
from messaging.placeholders import SendScope
from messaging.sending.forms import placeholder_help

SAMPLE_LAST_NAME = "山田"
SAMPLE_FIRST_NAME = "花子"
# Built-in placeholders an automatic email cannot use: no sender, no friend invitation.
NOT_IN_AUTOMATIC = frozenset({rendering.SENDER_DEPARTMENT, rendering.FRIEND_URL})


def code(name: str) -> str:
    return "{{" + name + "}}"


def codes(names: Iterable[str]) -> str:
    return "、".join(code(name) for name in names)


@dataclass(frozen=True)
class PlaceholderGroup:
    title: str
    items: list[tuple[str, str]]  # (code, help)


def template_placeholder_groups() -> list[PlaceholderGroup]:
    """What a saved template may use: what a plain message offers, then the placeholders that
    only work in a send about something (an event, an interview…), grouped by that thing."""
    groups = [PlaceholderGroup("いつでも使える項目", placeholder_help(Kind.BULK))]
    by_need: dict[str, list[tuple[str, str]]] = {}
    for placeholder in placeholders.registered():
        if placeholder.needs:
            by_need.setdefault(placeholder.needs_label, []).append((code(placeholder.name), placeholder.help))
    for label, items in by_need.items():
        groups.append(PlaceholderGroup(f"{label}を選んだ送信で使える項目", items))
    return groups


def link_names_in_subject(subject: str) -> list[str]:
    """Personal links cannot go in a subject (compose refuses them there too)."""
    return [name for name in rendering.placeholders_in(subject) if name in placeholders.link_names()]


def automatic_allowed(kind_placeholders: Iterable[str]) -> list[str]:
    """The names an automatic kind's text may use: the built-in ones that make sense without a
    recruiter, and the registered ones its app declared."""
    built_in = [name for name in rendering.PLACEHOLDERS if name not in NOT_IN_AUTOMATIC]
    return built_in + [name for name in kind_placeholders if placeholders.get(name) is not None]


def automatic_placeholder_help(kind_placeholders: Iterable[str]) -> list[tuple[str, str]]:
    items = []
    for name in automatic_allowed(kind_placeholders):
        registered = placeholders.get(name)
        items.append((code(name), registered.help if registered else rendering.PLACEHOLDERS[name]))
    return items


@dataclass(frozen=True)
class Sample:
    """Who a preview is rendered for: the company's first candidate, or a made-up one."""

    last_name: str
    first_name: str
    candidate_id: int | None
    made_up: bool

    @property
    def name(self) -> str:
        return f"{self.last_name} {self.first_name}"


def sample_recipient(company: Company) -> Sample:
    first = Candidate.objects.filter(company=company).order_by("pk").only("last_name", "first_name").first()
    if first is None:
        return Sample(SAMPLE_LAST_NAME, SAMPLE_FIRST_NAME, None, made_up=True)
    return Sample(first.last_name, first.first_name, first.pk, made_up=False)


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str


def sample_preview(
    company: Company,
    subject: str,
    body: str,
    *,
    sample: Sample,
    sender_name: str,
    sender_department: str = "",
) -> Preview:
    """The text filled in for `sample`. Registered placeholders have no send to draw from here,
    so each shows as 「（name）」; unknown ones stay as typed (the form lists them)."""
    names = rendering.placeholders_in(subject, body)
    standins = {name: f"（{name}）" for name in names if placeholders.get(name) is not None}
    standins[rendering.FRIEND_URL] = rendering.FRIEND_URL_STANDIN
    context = rendering.RecipientContext(
        sample.last_name,
        sample.first_name,
        company.name,
        sender_name,
        candidate_id=sample.candidate_id,
        scope=SendScope(company=company, sender_name=sender_name, sender_department=sender_department),
        sender_department=sender_department,
    )
    values = {**standins, **context.values()}
    return Preview(rendering.one_line(rendering.render(subject, values)), rendering.render(body, values))
