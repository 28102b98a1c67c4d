"""A bulk send to every friend of the company, and what became of it: lost, duplicated and
stuck LINE messages (counted at the emulator, per recipient and per retry key), emails sent
twice (at least once by design, counted by Message-ID), and when the last row became final."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


def send_to_all(company: Any, recruiter: Any, body: str) -> Any:
    from candidates.models import Candidate
    from messaging.models import Kind
    from messaging.sending import compose
    from messaging.sending.compose import Draft

    draft = Draft(kind=Kind.BULK, subject="説明会のご案内", body=body, send_line=True)
    people = list(Candidate.objects.filter(company=company).values_list("pk", flat=True))
    return compose.create_send(draft, company=company, user=recruiter, candidates=people)


def counts(send: Any) -> Counter:
    from messaging.models import Delivery

    return Counter(Delivery.objects.filter(send=send).values_list("channel", "status"))


def sent_on_line(send: Any) -> int:
    return counts(send)[("line", "sent")]


def wait_until_final(send: Any, timeout: float) -> datetime | None:
    """When the last delivery of the send became final; None if some are still not final."""
    from django.db.models import Max

    from messaging.models import Delivery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Delivery.objects.filter(send=send).exclude(status__in=Delivery.FINAL).exists():
            return Delivery.objects.filter(send=send).aggregate(last=Max("updated_at"))["last"]
        time.sleep(0.5)
    return None


@dataclass
class Outcome:
    recipients: int
    line_sent: int
    lost: int  # a friend's LINE delivery that did not end sent
    duplicated: int  # extra pushes beyond one per recipient, at the emulator
    stuck: int  # deliveries not final at the end
    emails_twice: int  # extra copies of an email (by Message-ID): at least once, by design
    statuses: dict[str, int]
    attempts: dict[str, int]  # the deliveries' attempt log, by outcome


def outcome(send: Any, emulator: Any, channel: str, mail_dir: Path) -> Outcome:
    from messaging.models import Delivery, DeliveryAttempt

    line = list(Delivery.objects.filter(send=send, channel="line").values_list("id", "status"))
    keys = {str(pk) for pk, _ in line}
    pushes = [row for row in emulator.outbox(channel) if row["retry_key"] in keys]
    per_recipient = Counter(row["to"] for row in pushes)
    per_key = Counter(row["retry_key"] for row in pushes)
    message_ids = Counter(
        text.split(":", 1)[1].strip()
        for path in mail_dir.glob("*.log")
        for text in path.read_text(errors="replace").splitlines()
        if text.startswith("Message-ID:")
    )
    everything = Counter(Delivery.objects.filter(send=send).values_list("status", flat=True))
    return Outcome(
        recipients=len(line),
        line_sent=sum(1 for _, status in line if status == "sent"),
        lost=sum(1 for _, status in line if status != "sent"),
        duplicated=max(sum(n - 1 for n in per_recipient.values()), sum(n - 1 for n in per_key.values())),
        stuck=sum(n for status, n in everything.items() if status not in Delivery.FINAL),
        emails_twice=sum(n - 1 for n in message_ids.values()),
        statuses=dict(everything),
        attempts=dict(Counter(DeliveryAttempt.objects.filter(delivery__send=send).values_list("outcome", flat=True))),
    )


def push_times(emulator: Any, channel: str) -> list[datetime]:
    return sorted(datetime.fromisoformat(row["timestamp"]) for row in emulator.outbox(channel))
