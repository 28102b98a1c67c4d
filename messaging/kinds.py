"""Kinds of manual send that apps above messaging offer on the compose screen.

An app registers, from its `AppConfig.ready()`, the kind (one of `models.Kind`), what the send
is about (`context_key`, e.g. "event", chosen in a select filled by `choices(company)`) and
the text it starts from. The compose screen then works for it unchanged: the LINE switch,
送信予約, progress and history come with it, and the placeholders that need that context
(`placeholders.py`) become available.

    kinds.register(ComposeKind(
        Kind.EVENT_INVITATION, "イベント案内", context_key="event", context_label="イベント",
        choices=open_events, initial_subject="【{{企業名}}】{{イベント名}}のご案内", initial_body=...))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hrmos.models import Company


@dataclass(frozen=True)
class ComposeKind:
    kind: str
    title: str
    context_key: str
    context_label: str
    choices: Callable[[Company], list[tuple[int, str]]]
    initial_subject: str = ""
    initial_body: str = ""

    def missing_message(self) -> str:
        return f"{self.context_label}を選んでください。"


_registry: dict[str, ComposeKind] = {}


def register(compose_kind: ComposeKind) -> None:
    _registry[compose_kind.kind] = compose_kind


def get(kind: str) -> ComposeKind | None:
    return _registry.get(kind)


def registered() -> list[ComposeKind]:
    return list(_registry.values())
