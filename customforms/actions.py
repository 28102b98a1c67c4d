"""What changes custom forms: building them (recruiters) and answering them (candidates).
One verb each, each in a transaction."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone

from candidates.models import Candidate
from customforms.answer_forms import AnswerInput
from customforms.models import Form, FormAnswer, FormField, FormLink, FormResponse
from hrmos.audit import log_action
from hrmos.models import Company, User
from messaging.models import Kind
from messaging.sending import automatic
from messaging.sending.compose import ComposeError

logger = logging.getLogger(__name__)

MAX_FIELDS = 50
COPY_SUFFIX = "のコピー"


class BuilderError(Exception):
    """A builder change that cannot be made; the message is for the recruiter."""


class SubmitRefused(Exception):
    """An answer that cannot be accepted; `reason` is CLOSED or ANSWERED."""

    CLOSED = "closed"
    ANSWERED = "answered"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------- forms


def create_form(company: Company, user: User, **settings: Any) -> Form:
    form = Form.objects.create(company=company, created_by=user, **settings)
    log_action(company, user, "form.create", form.name, form=form.pk)
    return form


def update_form(form: Form, **settings: Any) -> Form:
    for name, value in settings.items():
        setattr(form, name, value)
    form.save()
    return form


@transaction.atomic
def set_published(form: Form, published: bool) -> None:
    form = Form.objects.select_for_update().get(pk=form.pk)
    if form.archived_at is not None:
        raise BuilderError("アーカイブ済みのフォームは公開できません。元に戻してから公開してください。")
    if published and not form.live_fields().exists():
        raise BuilderError("項目が1つもないため公開できません。項目を追加してから公開してください。")
    form.is_published = published
    form.save(update_fields=["is_published", "updated_at"])


@transaction.atomic
def copy_form(form: Form, user: User, now: datetime) -> Form:
    copy = Form.objects.create(
        company_id=form.company_id,
        created_by=user,
        name=(form.name + COPY_SUFFIX)[: Form._meta.get_field("name").max_length],
        description=form.description,
        deadline=form.deadline if form.deadline and form.deadline > now else None,
        answer_policy=form.answer_policy,
    )
    FormField.objects.bulk_create(
        FormField(
            company_id=form.company_id,
            form=copy,
            kind=field.kind,
            label=field.label,
            help_text=field.help_text,
            required=field.required,
            position=position,
            options=list(field.options),
            file_types=list(field.file_types),
            max_file_mb=field.max_file_mb,
        )
        for position, field in enumerate(form.live_fields(), start=1)
    )
    return copy


@transaction.atomic
def remove_form(form: Form, user: User, now: datetime) -> bool:
    """Delete the form, or archive it when it has answers (they stay on the candidates).
    Returns True when archived."""
    form = Form.objects.select_for_update().get(pk=form.pk)
    if form.responses.exists():
        form.archived_at = now
        form.is_published = False
        form.save(update_fields=["archived_at", "is_published", "updated_at"])
        log_action(form.company, user, "form.archive", form.name, form=form.pk)
        return True
    log_action(form.company, user, "form.delete", form.name, form=form.pk)
    form.delete()
    return False


def restore_form(form: Form) -> None:
    """Back from the archive, unpublished: the recruiter decides when it takes answers again."""
    form.archived_at = None
    form.save(update_fields=["archived_at", "updated_at"])


# ---------------------------------------------------------------------------- fields


def _lock(form: Form) -> Form:
    return Form.objects.select_for_update().get(pk=form.pk)


def _renumber(form: Form) -> None:
    for position, field in enumerate(form.live_fields(), start=1):
        if field.position != position:
            FormField.objects.filter(pk=field.pk).update(position=position)


@transaction.atomic
def add_field(form: Form, **attributes: Any) -> FormField:
    form = _lock(form)
    if form.live_fields().count() >= MAX_FIELDS:
        raise BuilderError(f"項目は{MAX_FIELDS}個までです。不要な項目を削除してから追加してください。")
    last = form.live_fields().aggregate(last=Max("position"))["last"] or 0
    return FormField.objects.create(company_id=form.company_id, form=form, position=last + 1, **attributes)


@transaction.atomic
def update_field(field: FormField, **attributes: Any) -> FormField:
    field = FormField.objects.select_for_update().get(pk=field.pk)
    if attributes.get("kind", field.kind) != field.kind and field.answers.exists():
        raise BuilderError("回答がある項目の種類は変更できません。新しい項目を追加してください。")
    for name, value in attributes.items():
        setattr(field, name, value)
    field.save()
    return field


@transaction.atomic
def remove_field(field: FormField, now: datetime) -> bool:
    """Delete the field, or hide it when it has answers (kept and shown as 削除済み).
    Returns True when hidden."""
    form = _lock(field.form)
    if form.is_published and form.live_fields().count() <= 1:
        raise BuilderError("公開中のフォームの最後の項目は削除できません。先に受付を停止してください。")
    hidden = field.answers.exists()
    if not hidden:
        try:
            with transaction.atomic():
                field.delete()
        except ProtectedError:  # an answer arrived since the check above
            hidden = True
    if hidden:
        FormField.objects.filter(pk=field.pk).update(deleted_at=now)
    _renumber(form)
    return hidden


@transaction.atomic
def move_field(field: FormField, offset: int) -> None:
    """Move the field `offset` places (-1 up, +1 down) among the form's live fields."""
    form = _lock(field.form)
    fields = list(form.live_fields())
    index = next((i for i, f in enumerate(fields) if f.pk == field.pk), None)
    if index is None:
        return
    target = max(0, min(len(fields) - 1, index + offset))
    fields.insert(target, fields.pop(index))
    for position, moved in enumerate(fields, start=1):
        if moved.position != position:
            FormField.objects.filter(pk=moved.pk).update(position=position)


# ---------------------------------------------------------------------------- answers


def _response_for(form: Form, link: FormLink, now: datetime) -> tuple[FormResponse, bool]:
    """The candidate's response row, locked; created if none (the unique constraint decides
    between two concurrent first submissions)."""
    response = FormResponse.objects.select_for_update().filter(form=form, candidate_id=link.candidate_id).first()
    if response is not None:
        return response, False
    try:
        with transaction.atomic():
            return (
                FormResponse.objects.create(
                    company_id=form.company_id,
                    form=form,
                    candidate_id=link.candidate_id,
                    submitted_at=now,
                    updated_at=now,
                ),
                True,
            )
    except IntegrityError:
        return FormResponse.objects.select_for_update().get(form=form, candidate_id=link.candidate_id), False


def _store(answer: FormAnswer, item: AnswerInput, saved_files: list[str], replaced_files: list[str]) -> None:
    answer.label = item.field.label
    answer.kind = item.field.kind
    answer.value = item.value
    if item.upload is not None and item.checked is not None:
        if answer.file:
            replaced_files.append(str(answer.file.name))
        answer.file.save(item.checked.name, item.upload, save=False)
        saved_files.append(str(answer.file.name))
        answer.file_size = item.checked.size
        answer.file_content_type = item.checked.content_type
    answer.save()


def _delete_files(names: list[str]) -> None:
    storage = FormAnswer._meta.get_field("file").storage
    for name in names:
        storage.delete(name)


def submit_response(link: FormLink, answers: list[AnswerInput], now: datetime | None = None) -> FormResponse:
    """Store the candidate's answers: the first time, or again where the form allows editing
    until its deadline. Raises SubmitRefused when the form no longer takes this answer."""
    now = now or timezone.now()
    saved_files: list[str] = []
    replaced_files: list[str] = []
    try:
        with transaction.atomic():
            form = Form.objects.select_related("company").get(pk=link.form_id)
            if not form.accepts_answers(now):
                raise SubmitRefused(SubmitRefused.CLOSED)
            response, created = _response_for(form, link, now)
            if not created and not form.is_editable_answers:
                raise SubmitRefused(SubmitRefused.ANSWERED)
            existing = {answer.field_id: answer for answer in response.answers.all()}
            for item in answers:
                answer = existing.get(item.field.pk) or FormAnswer(
                    company_id=form.company_id, response=response, field=item.field
                )
                if item.field.kind == FormField.Kind.FILE and item.upload is None and answer.pk is not None:
                    continue  # nothing new chosen: the file given before stays
                _store(answer, item, saved_files, replaced_files)
            if not created:
                response.updated_at = now
                response.edit_count += 1
                response.save(update_fields=["updated_at", "edit_count"])
            _send_confirmation(form, response, link.candidate)
    except BaseException:
        _delete_files(saved_files)
        raise
    transaction.on_commit(lambda: _delete_files(replaced_files))
    logger.info(
        "Form answered: form=%s candidate=%s response=%s %s",
        form.pk,
        link.candidate_id,
        response.pk,
        "created" if created else "edited",
    )
    return response


def _send_confirmation(form: Form, response: FormResponse, candidate: Candidate) -> None:
    """The form_confirmation email (email only) for this submission, in its transaction so
    that it commits with the answers it confirms. One per submission: the first answer and
    each edit. A template that cannot be sent (e.g. a placeholder the company's text uses
    that has no value here) is logged and skipped: the answer is never lost over an email."""
    template = automatic.template_for(form.company, Kind.FORM_CONFIRMATION)
    if not template.enabled:
        return
    try:
        automatic.send_automatic(
            Kind.FORM_CONFIRMATION,
            company=form.company,
            candidate=candidate,
            subject=template.subject,
            body=template.body,
            context={"form": form.pk, "response": response.pk},
            once_key=f"{Kind.FORM_CONFIRMATION}:{response.pk}:{response.edit_count}",
        )
    except ComposeError as refused:
        logger.warning(
            "Form confirmation not sent: form=%s response=%s candidate=%s: %s",
            form.pk,
            response.pk,
            candidate.pk,
            refused,
        )
