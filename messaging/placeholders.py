"""差し込み項目: the registry of `{{name}}` placeholders that apps above messaging add.

messaging itself knows the recipient's name, the company and the sender (see rendering.py).
Everything else a message can carry comes from the app the message is about, which registers
it from its `AppConfig.ready()`:

    placeholders.register(Placeholder(
        "イベント名", "イベントのタイトル", needs=EVENT, value=lambda r: event_of(r).title))
    placeholders.register(Placeholder(
        "イベント申込URL", "候補者ごとのイベント申込URL", needs=EVENT, link=application_link))

- A **value** placeholder is filled when the message is rendered. `value(recipient)` returns
  the text, or None when this recipient has none (compose then refuses the send, naming who
  lacks it, rather than sending an empty gap).
- A **link** placeholder is a personal URL. It is minted only when the email or LINE message
  actually goes out, never stored in the outbox: the stored copy keeps `{{name}}`, the
  recruiter's timeline shows 「（name）」, and `link(recipient, token, now)` is called with a
  token derived from the delivery (`link_token`), so every retry of one delivery mints the
  same URL (LINE requires a retried push to be identical) while only the app's own hash of
  the token is ever stored. A link is personal: never offered to agent recipients.
- `needs` names the key of the send's `context` the placeholder draws from (a send is about
  an event, a schedule, a form…). Used in a send without that context, compose refuses it
  with 「{{name}} は<needs_label>を選んだときだけ使えます。」.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from django.db import models
from django.utils.crypto import salted_hmac

from candidates.models import Candidate
from hrmos.models import Company

M = TypeVar("M", bound=models.Model)

LINK_TOKEN_SALT = "messaging.placeholders.link"  # noqa: S105 (an HMAC salt, not a secret)


@dataclass
class SendScope:
    """What every recipient of one send shares: its company, sender, kind and context, and a
    cache so that a context object (the event…) is loaded once per send, not per recipient."""

    company: Company
    sender_name: str
    kind: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    sender_department: str = ""
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def related(self, model: type[M], key: str) -> M | None:
        """The context object `key` (e.g. "event") of this company, or None when the send has
        none or it is gone."""
        cache_key = (model._meta.label, key)
        if cache_key not in self._cache:
            pk = self.context.get(key)
            found = None
            if isinstance(pk, int):
                found = model._default_manager.filter(pk=pk, company=self.company).first()
            self._cache[cache_key] = found
        return self._cache[cache_key]


@dataclass
class Recipient:
    """One recipient of a send, as a placeholder sees it."""

    scope: SendScope
    candidate_id: int | None
    delivery_id: UUID | None = None
    _candidate: Candidate | None = field(default=None, repr=False)

    @property
    def company(self) -> Company:
        return self.scope.company

    @property
    def candidate(self) -> Candidate | None:
        if self._candidate is None and self.candidate_id is not None:
            self._candidate = Candidate.objects.filter(pk=self.candidate_id, company=self.company).first()
        return self._candidate


@dataclass(frozen=True)
class Placeholder:
    name: str
    help: str
    needs: str = ""
    needs_label: str = ""
    value: Callable[[Recipient], str | None] | None = None
    link: Callable[[Recipient, str, datetime], str] | None = None
    per_candidate: bool = True  # False: the same value for every recipient (computed once per send)
    order: int = 100
    # The refusal where the send lacks `needs`, when 「…を選んだときだけ使えます」 does not fit
    # (a context no compose screen offers, e.g. the answers of an automatic confirmation).
    unavailable: str = ""

    def __post_init__(self) -> None:
        if (self.value is None) == (self.link is None):
            raise ValueError(f"{{{{{self.name}}}}}: give either value or link")
        if self.needs and not self.needs_label:
            raise ValueError(f"{{{{{self.name}}}}}: say what must be chosen (needs_label)")

    @property
    def is_link(self) -> bool:
        return self.link is not None

    @property
    def standin(self) -> str:
        """What the recruiter's copy shows where a personal link goes."""
        return f"（{self.name}）"

    def available_in(self, context: Mapping[str, Any]) -> bool:
        return not self.needs or context.get(self.needs) is not None

    def unavailable_message(self) -> str:
        return self.unavailable or f"{{{{{self.name}}}}} は{self.needs_label}を選んだときだけ使えます。"


_registry: dict[str, Placeholder] = {}


def register(placeholder: Placeholder) -> None:
    """Add a placeholder. Registering a name again (two apps both offering {{選考ステップ}})
    makes the later one's value come first and the earlier one's serve where it gives None."""
    earlier = _registry.get(placeholder.name)
    if earlier is not None and earlier != placeholder and earlier.value and placeholder.value:
        placeholder = replace(placeholder, value=_first_of(placeholder.value, earlier.value))
    _registry[placeholder.name] = placeholder


def _first_of(*values: Callable[[Recipient], str | None]) -> Callable[[Recipient], str | None]:
    def value(recipient: Recipient) -> str | None:
        for candidate_value in values:
            found = candidate_value(recipient)
            if found is not None:
                return found
        return None

    return value


def get(name: str) -> Placeholder | None:
    return _registry.get(name)


def registered() -> list[Placeholder]:
    return sorted(_registry.values(), key=lambda p: (p.order, p.name))


def link_names() -> frozenset[str]:
    return frozenset(name for name, placeholder in _registry.items() if placeholder.is_link)


def link_token(delivery_id: UUID, name: str) -> str:
    """The token of one delivery's personal link: unguessable without SECRET_KEY, and the same
    on every attempt of that delivery, so a retried message is byte-identical."""
    return salted_hmac(LINK_TOKEN_SALT, f"{delivery_id}:{name}", algorithm="sha256").hexdigest()[:43]
