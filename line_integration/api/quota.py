"""The month's LINE message quota and usage, for the settings page and the send screens."""

from __future__ import annotations

from dataclasses import dataclass

from line_integration.api import client, tokens
from line_integration.models import LineIntegration


@dataclass(frozen=True)
class MonthlyQuota:
    limit: int | None  # None: no monthly limit (quota type "none")
    used: int

    @property
    def unlimited(self) -> bool:
        return self.limit is None

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def percent_used(self) -> int:
        if not self.limit:
            return 0
        return min(round(self.used * 100 / self.limit), 100)

    def would_exceed(self, messages: int) -> bool:
        """Whether sending `messages` more this month goes over the limit."""
        return self.remaining is not None and messages > self.remaining


def monthly_quota(integration: LineIntegration) -> MonthlyQuota:
    """Two GETs to LINE. Raises LineError or tokens.IntegrationNotLinked."""
    quota = tokens.call_with_token(integration, client.get_quota)
    used = tokens.call_with_token(integration, client.get_quota_consumption)
    return MonthlyQuota(limit=None if quota.unlimited else quota.value, used=used)
