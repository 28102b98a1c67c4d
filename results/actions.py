"""Recording selection results, one candidate or many, and acting on their notices.

Every recording locks the candidate's row first, so two recruiters (or two tabs) recording
the same candidate take turns: the second one sees the first one's result as the current
one, cancels its pending notice and schedules its own. However they interleave, one result
is current and at most one notice of that candidate and stage is pending: the final one's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from candidates.models import Candidate, Stage
from hrmos.audit import log_action
from hrmos.models import Company, User
from messaging.models import Message, Send
from messaging.sending import scheduling
from messaging.sending.compose import ComposeError
from results import notices
from results.models import NoticeSetting, Outcome, SelectionResult

log = logging.getLogger(__name__)

RECORDABLE_KINDS = (Stage.Kind.OPEN,)
NEXT_STAGE_KINDS = (Stage.Kind.OPEN, Stage.Kind.OFFER)


def recordable_stages(company: Company) -> QuerySet[Stage]:
    """The steps a result can be recorded for: the open ones (not 内定, 不採用, 辞退)."""
    return Stage.objects.filter(company=company, kind__in=RECORDABLE_KINDS).order_by("position")


def next_stage(stage: Stage) -> Stage | None:
    return (
        Stage.objects.filter(company_id=stage.company_id, position__gt=stage.position, kind__in=NEXT_STAGE_KINDS)
        .order_by("position")
        .first()
    )


@dataclass
class Recorded:
    result: SelectionResult
    cancelled_notice: bool = False  # the previous result's pending notice was cancelled
    kept_notice: bool = False  # the same result as before: its notice (if any) stands
    notice_error: str = ""  # the notice could not be written (the result is recorded)


@dataclass
class _Settings:
    """Notice settings looked up once per stage and result in a bulk recording."""

    company: Company
    found: dict[tuple[int, str], notices.Notice] = field(default_factory=dict)

    def notice(self, stage: Stage, outcome: str) -> notices.Notice:
        key = (stage.pk, outcome)
        if key not in self.found:
            self.found[key] = notices.notice_for(self.company, stage, outcome)
        return self.found[key]


def record_result(
    candidate: Candidate,
    stage: Stage,
    outcome: str,
    *,
    note: str = "",
    user: User | None,
    move: bool = True,
    now: datetime | None = None,
) -> Recorded:
    """Record one candidate's result for one stage (the candidate page's form)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(Candidate.objects.filter(pk=candidate.pk, company_id=candidate.company_id))
        if not locked:
            raise Candidate.DoesNotExist
        if stage.company_id != candidate.company_id:
            raise ValueError("the stage belongs to another company")
        lookups = _Settings(locked[0].company)
        recorded = _record(locked[0], stage, outcome, note=note, user=user, move=move, now=now, lookups=lookups)
        result = recorded.result
        log_action(
            result.company,
            user,
            "results.record",
            f"{locked[0].name}：{stage.name} {result.get_outcome_display()}",
            candidate_id=locked[0].pk,
            selection_result_id=result.pk,
        )
    return recorded


@dataclass
class BulkRecorded:
    recorded: list[Recorded]
    skipped: list[Candidate]  # at a stage that takes no result (内定, 不採用, 辞退)

    @property
    def moved(self) -> int:
        return sum(1 for r in self.recorded if r.result.moved_to_id)

    @property
    def notices(self) -> int:
        return sum(1 for r in self.recorded if r.result.notice_id and not (r.notice_error or r.kept_notice))


def record_results(
    company: Company,
    candidates: QuerySet[Candidate],
    outcome: str,
    *,
    note: str = "",
    user: User | None,
    move: bool = True,
    now: datetime | None = None,
) -> BulkRecorded:
    """Record the same result for many candidates, each at their current stage (the list's
    bulk action): all or nothing, rows locked in id order so two bulk recordings never
    deadlock."""
    now = now or timezone.now()
    lookups = _Settings(company)
    ids = candidates.order_by().values("pk")
    with transaction.atomic():
        bulk = BulkRecorded([], [])
        for candidate in _locked(Candidate.objects.filter(company=company, pk__in=ids)):
            if candidate.stage.kind not in RECORDABLE_KINDS:
                bulk.skipped.append(candidate)
                continue
            bulk.recorded.append(
                _record(candidate, candidate.stage, outcome, note=note, user=user, move=move, now=now, lookups=lookups)
            )
        log_action(
            company,
            user,
            "results.record_bulk",
            f"{len(bulk.recorded)}名の選考結果を「{notices.OUTCOME_LABELS[outcome]}」で登録",
            count=len(bulk.recorded),
            skipped=len(bulk.skipped),
        )
    return bulk


def _locked(candidates: QuerySet[Candidate]) -> list[Candidate]:
    return list(candidates.select_related("stage").select_for_update(of=("self",)).order_by("pk"))


def _record(
    candidate: Candidate,
    stage: Stage,
    outcome: str,
    *,
    note: str,
    user: User | None,
    move: bool,
    now: datetime,
    lookups: _Settings,
) -> Recorded:
    """With the candidate's row locked: supersede the stage's current result, record the new
    one, move a 合格 on, and replace the pending notice unless the result is unchanged."""
    company = lookups.company
    previous = (
        SelectionResult.objects.filter(candidate=candidate, stage=stage, is_current=True)
        .select_related("notice")
        .first()
    )
    if previous is not None:
        SelectionResult.objects.filter(pk=previous.pk).update(is_current=False, superseded_at=now)
    result = SelectionResult.objects.create(
        company=company,
        candidate=candidate,
        stage=stage,
        outcome=outcome,
        note=note,
        recorded_by=user,
        recorded_at=now,
        moved_to=_move_on(candidate, stage) if outcome == Outcome.PASSED and move else None,
    )
    recorded = Recorded(result)
    if previous is not None and previous.outcome == outcome:
        result.notice = previous.notice  # the same result keeps its notice: never a second one
        recorded.kept_notice = True
    else:
        if previous is not None and notices.is_pending(previous.notice):
            recorded.cancelled_notice = notices.cancel_notice(previous.notice, user=user, now=now)
        notice = lookups.notice(stage, outcome)
        result.notice, recorded.notice_error = _schedule(result, notice)
    if result.notice is not None:
        result.save(update_fields=["notice"])
    return recorded


def _move_on(candidate: Candidate, stage: Stage) -> Stage | None:
    """A 合格 moves the candidate to the next step, if they are still at the result's step."""
    if candidate.stage_id != stage.pk:
        return None
    following = next_stage(stage)
    if following is not None:
        candidate.stage = following
        candidate.save(update_fields=["stage", "updated_at"])
    return following


def _schedule(result: SelectionResult, notice: notices.Notice) -> tuple[Send | None, str]:
    """The notice, or why it could not be written: the result is recorded either way."""
    try:
        with transaction.atomic():
            return notices.schedule_notice(result, notice), ""
    except ComposeError as exc:
        problems = [message for messages in exc.errors.values() for message in messages]
        log.warning("selection result %s: notice not written: %s", result.pk, problems)
        return None, "自動通知を作成できませんでした：" + " ".join(problems)


def cancel_notice(result: SelectionResult, *, user: User | None) -> bool:
    cancelled = notices.cancel_notice(result.notice, user=user, now=timezone.now())
    if cancelled:
        log_action(result.company, user, "results.notice_cancelled", str(result), selection_result_id=result.pk)
    return cancelled


def send_notice_now(result: SelectionResult, *, user: User | None) -> bool:
    if result.notice is None:
        return False
    return scheduling.send_scheduled_now(result.notice, user=user)


@transaction.atomic
def save_notice_setting(
    company: Company, stage: Stage, outcome: str, *, values: dict, user: User | None
) -> NoticeSetting:
    setting, _created = NoticeSetting.objects.update_or_create(
        company=company, stage=stage, outcome=outcome, defaults={**values, "updated_by": user}
    )
    log_action(company, user, "results.notice_setting", str(setting), stage_id=stage.pk, outcome=outcome)
    return setting


def pending_notices(candidate: Candidate) -> Iterable[SelectionResult]:
    """The candidate's results whose notice has not gone yet, soonest first, each with the
    subject as the candidate will read it (`notice_subject`)."""
    subject = Message.objects.filter(send=OuterRef("notice"), candidate=candidate).values("subject")[:1]
    return (
        SelectionResult.objects.filter(candidate=candidate, is_current=True, notice__status=Send.Status.SCHEDULED)
        .select_related("stage", "notice")
        .annotate(notice_subject=Subquery(subject))
        .order_by("notice__scheduled_at")
    )
