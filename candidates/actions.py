"""State changes on candidates, one verb each, each in a transaction and audited."""

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from candidates import csv_io
from candidates.forms import AgentForm, CandidateForm
from candidates.models import Agent, Candidate, ImportBatch, Stage
from hrmos.audit import log_action
from hrmos.models import Company, User


class ImportRejected(Exception):
    """The batch has errors (found again at confirm time); nothing was written."""


@transaction.atomic
def save_candidate(form: CandidateForm, actor: User) -> Candidate:
    """Create or update from a valid form, creating the agent typed inline if asked."""
    candidate = form.save(commit=False)
    created = candidate.pk is None
    if created:
        candidate.company = form.company
    if form.wants_new_agent:
        agent = form.new_agent()
        agent.save()
        candidate.agent = agent
    candidate.save()
    log_action(
        form.company,
        actor,
        "candidate.create" if created else "candidate.update",
        candidate.name,
        candidate_id=candidate.pk,
    )
    return candidate


@transaction.atomic
def delete_candidate(candidate: Candidate, actor: User) -> None:
    log_action(candidate.company, actor, "candidate.delete", candidate.name, candidate_id=candidate.pk)
    candidate.delete()


@transaction.atomic
def change_stage(candidates: QuerySet[Candidate], stage: Stage, actor: User) -> int:
    """Move the selected candidates to one stage (the bulk bar's 「選考ステップを変更」)."""
    # update() skips save(); stage is not part of search_text, so nothing else needs refreshing.
    count = candidates.order_by().update(stage=stage, updated_at=timezone.now())
    log_action(stage.company, actor, "candidate.bulk_stage", f"{count}名を「{stage.name}」に変更", stage_id=stage.pk)
    return count


@transaction.atomic
def save_agent(form: AgentForm, company: Company, actor: User) -> Agent:
    agent = form.save(commit=False)
    created = agent.pk is None
    if created:
        agent.company = company
    agent.contact_email = agent.contact_email.strip().lower()
    agent.save()
    log_action(company, actor, "agent.create" if created else "agent.update", str(agent), agent_id=agent.pk)
    return agent


@transaction.atomic
def delete_agent(agent: Agent, actor: User) -> None:
    # Candidates keep their record; their agent becomes 「なし」 (on_delete=SET_NULL).
    log_action(agent.company, actor, "agent.delete", str(agent), agent_id=agent.pk)
    agent.delete()


def start_import(company: Company, actor: User, filename: str, data: bytes) -> ImportBatch:
    """Decode and keep an uploaded file for its preview. Raises csv_io.CsvFileError."""
    encoding, header, rows = csv_io.read_rows(data)
    ImportBatch.purge_stale()
    return ImportBatch.objects.create(
        company=company,
        created_by=actor,
        filename=filename[:255],
        encoding=encoding,
        headers=header,
        rows=rows,
        mapping=csv_io.guess_mapping(header),
    )


def validate_import(batch: ImportBatch) -> csv_io.Validation:
    return csv_io.validate(batch.company, batch.headers, batch.rows, batch.mapping)


def import_batch(batch: ImportBatch, actor: User) -> int:
    """All or nothing: validate again (the company's data may have changed since the preview),
    then create every agent and candidate in one transaction, and drop the batch."""
    try:
        with transaction.atomic():
            validation = validate_import(batch)
            if not validation.ok:
                raise ImportRejected
            agents = dict(validation.existing_agents)
            new_agents = list(validation.new_agents.values())
            for agent in new_agents:
                agent.save()  # a handful per file; save() so the pks are known on every backend
            agents.update(validation.new_agents)
            candidates = csv_io.build_candidates(batch.company, validation, agents)
            Candidate.objects.bulk_create(candidates, batch_size=1000)
            log_action(
                batch.company,
                actor,
                "candidate.import",
                f"{len(candidates)}件（{batch.filename}）",
                count=len(candidates),
                new_agents=len(new_agents),
            )
            batch.delete()
    except IntegrityError as exc:
        # Another recruiter registered one of these emails between our check and the insert.
        raise ImportRejected from exc
    return len(candidates)
