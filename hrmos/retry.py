"""Retry timing shared by every app (the bottom floor, so messaging and line_integration both
import it): exponential backoff with jitter."""

from __future__ import annotations

import random


def backoff(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the `attempts`-th failed try: uniformly between half and all of
    min(cap, base · 2^(attempts−1)).

    The jitter matters when many rows fail at once (LINE or the database down for a minute):
    without it their retries all fire in the same second, again and again."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not security)
