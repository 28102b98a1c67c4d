"""Shared helpers of the selection-results tests."""

from __future__ import annotations

from candidates.models import Stage
from hrmos.models import Company
from results.models import NoticeSetting, Outcome

PASSED, FAILED, ON_HOLD = Outcome.PASSED, Outcome.FAILED, Outcome.ON_HOLD


def stage(company: Company, name: str) -> Stage:
    return Stage.objects.get(company=company, name=name)


def notice_setting(company: Company, stage_name: str, outcome: str, **fields) -> NoticeSetting:
    values = {"enabled": True, "timing": NoticeSetting.Timing.IMMEDIATE, "delay_days": 1, "hour": 10}
    values.update(fields)
    setting, _ = NoticeSetting.objects.update_or_create(
        company=company, stage=stage(company, stage_name), outcome=outcome, defaults=values
    )
    return setting


def delayed(company: Company, stage_name: str, outcome: str, days: int = 3, hour: int = 10) -> NoticeSetting:
    return notice_setting(company, stage_name, outcome, timing=NoticeSetting.Timing.DELAYED, delay_days=days, hour=hour)
