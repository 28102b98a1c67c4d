"""A send's progress as the send pages show it: N of M per channel and a stacked bar."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from messaging.models import Channel, Delivery, Send

BAR_COLOURS = [
    (Delivery.Status.SENT, "bg-success"),
    (Delivery.Status.FAILED, "bg-danger"),
    (Delivery.Status.SKIPPED, "bg-secondary"),
    (Delivery.Status.CANCELLED, "bg-secondary"),
]


@dataclass
class ChannelProgress:
    channel: str
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def finished(self) -> int:
        return sum(self.count(s) for s in Delivery.FINAL)

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.finished * 100 / self.total)

    def percent_of(self, status: str) -> float:
        return 0.0 if not self.total else round(self.count(status) * 100 / self.total, 2)

    @property
    def segments(self) -> list[tuple[str, float, str]]:
        """(status, percent, bar colour) for the stacked progress bar."""
        return [(status, self.percent_of(status), colour) for status, colour in BAR_COLOURS if self.count(status)]

    @property
    def label(self) -> str:
        return str(Channel(self.channel).label)


def progress(send: Send) -> list[ChannelProgress]:
    """N of M per channel, and counts per status: one GROUP BY over the send's rows."""
    by_channel: dict[str, ChannelProgress] = {}
    for row in Delivery.objects.filter(send=send).values("channel", "status").annotate(n=Count("id")):
        entry = by_channel.setdefault(row["channel"], ChannelProgress(row["channel"]))
        entry.counts[row["status"]] = row["n"]
        entry.total += row["n"]
    order = [Channel.EMAIL, Channel.LINE]
    return [by_channel[c] for c in order if c in by_channel]
