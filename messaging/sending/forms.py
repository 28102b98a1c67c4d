"""Compose forms. The pipeline re-checks everything (compose.validate); the form only turns
the POST into a `Draft` and shows the messages next to the right fields."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Required, TypedDict

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from hrmos.models import Company
from messaging import placeholders, rendering
from messaging.kinds import ComposeKind
from messaging.models import Kind, RecipientKind
from messaging.sending import compose

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"class": "form-control"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ComposeOptions(TypedDict, total=False):
    """ComposeForm's keyword arguments, for views that build them once for GET and POST."""

    kind: Required[str]
    company: Required[Company]
    recipient_count: Required[int]
    allow_agent: bool
    allow_invitation: bool
    allow_attachments: bool
    line_only: bool
    scheduled_only: bool
    fixed: Mapping[str, Any] | None
    now: datetime | None
    compose_kind: ComposeKind | None
    sender_department: str


class ComposeForm(forms.Form):
    TIMING_NOW = "now"
    TIMING_SCHEDULED = "scheduled"

    recipient_type = forms.ChoiceField(
        label="宛先", choices=RecipientKind.choices, initial=RecipientKind.CANDIDATE, widget=forms.RadioSelect
    )
    subject = forms.CharField(
        label="件名",
        required=False,
        max_length=compose.SUBJECT_MAX,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    body = forms.CharField(
        label="本文",
        required=False,
        widget=forms.Textarea(attrs={"class": "form-control font-monospace-ja", "rows": 12}),
    )
    attachments = MultipleFileField(label="添付ファイル", required=False)
    send_line = forms.BooleanField(label="LINEメッセージを送信する", required=False)
    include_friend_invitation = forms.TypedChoiceField(
        label="LINE友達登録URL",
        choices=[("0", "なし"), ("1", "あり")],
        coerce=lambda value: value == "1",
        initial="0",
        required=False,
        widget=forms.RadioSelect,
    )
    timing = forms.ChoiceField(
        label="送信日時",
        choices=[(TIMING_NOW, "今すぐ送信"), (TIMING_SCHEDULED, "日時を指定して送信予約")],
        initial=TIMING_NOW,
        widget=forms.RadioSelect,
    )
    scheduled_at = forms.DateTimeField(
        label="送信予約日時",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"),
    )
    # This form's own id, rendered hidden: posting the same form twice makes one send.
    client_token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        kind: str,
        company: Company,
        recipient_count: int,
        allow_agent: bool = False,
        allow_invitation: bool = False,
        allow_attachments: bool = True,
        line_only: bool = False,
        scheduled_only: bool = False,
        fixed: Mapping[str, Any] | None = None,
        now: datetime | None = None,
        compose_kind: ComposeKind | None = None,
        sender_department: str = "",
        **kwargs: Any,
    ) -> None:
        """`scheduled_only`: the send keeps a scheduled time (editing a reservation); `fixed`:
        draft values the caller decides (e.g. an edit keeps the send's LINE choice), whose
        fields the form drops; `sender_department`: the sender's, for {{送信者部署}}."""
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {"client_token": str(uuid.uuid4()), **kwargs["initial"]}
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.company = company
        self.recipient_count = recipient_count
        self.line_only = line_only
        self.scheduled_only = scheduled_only
        self.fixed = dict(fixed or {})
        self.now = now or timezone.now()
        self.compose_kind = compose_kind
        self.sender_department = sender_department
        if compose_kind is not None:
            self.fields["about"] = forms.TypedChoiceField(
                label=compose_kind.context_label,
                choices=[("", "選択してください"), *((str(pk), label) for pk, label in compose_kind.choices(company))],
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
        for name in self.fixed:
            self.fields.pop(name, None)
        if scheduled_only:
            del self.fields["timing"]
        if not allow_agent:
            self.fields.pop("recipient_type", None)
        if not allow_invitation:
            self.fields.pop("include_friend_invitation", None)
        if not allow_attachments or line_only:
            del self.fields["attachments"]
        if line_only:
            del self.fields["subject"]
            self.fields.pop("send_line", None)
            self.fields["body"].widget.attrs.update({"rows": 3, "placeholder": "LINEで送るメッセージを入力"})

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        scheduled_at = None
        if self.scheduled_only or data.get("timing") == self.TIMING_SCHEDULED:
            scheduled_at = data.get("scheduled_at")
            if scheduled_at is None:
                self.add_error("scheduled_at", "送信予約日時を入力してください。")
                return data
        files = data.get("attachments") or []
        if len(files) > MAX_ATTACHMENTS:
            self.add_error("attachments", f"添付ファイルは{MAX_ATTACHMENTS}個までです。")
        if sum(f.size or 0 for f in files) > MAX_ATTACHMENT_BYTES:
            self.add_error("attachments", "添付ファイルは合計10MBまでです。")
        draft = self.draft(scheduled_at=scheduled_at)
        add_errors(
            self,
            compose.validate(
                draft,
                company=self.company,
                recipient_count=self.recipient_count,
                now=self.now,
                sender_department=self.sender_department,
            ),
        )
        return data

    def clean_client_token(self) -> uuid.UUID | None:
        """A malformed token (a hand-made POST) only loses the double-submit protection."""
        return client_token(self.cleaned_data)

    def draft(self, *, scheduled_at: datetime | None = None) -> compose.Draft:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        if scheduled_at is None and (self.scheduled_only or data.get("timing") == self.TIMING_SCHEDULED):
            scheduled_at = data.get("scheduled_at")
        draft = compose.Draft(
            kind=self.kind,
            subject="" if self.line_only else (data.get("subject") or ""),
            body=data.get("body") or "",
            send_line=True if self.line_only else bool(data.get("send_line")),
            send_email=not self.line_only,
            recipient_type=data.get("recipient_type") or RecipientKind.CANDIDATE,
            include_friend_invitation=bool(data.get("include_friend_invitation")),
            scheduled_at=scheduled_at,
            attachments=data.get("attachments") or [],
            client_token=data.get("client_token"),
            context=context_of(self.compose_kind, data.get("about")),
        )
        for name, value in self.fixed.items():
            setattr(draft, name, value)
        return draft


def client_token(data: Mapping[str, Any]) -> uuid.UUID | None:
    """The posted form's `client_token`, if it is one."""
    try:
        return uuid.UUID(str(data.get("client_token") or ""))
    except ValueError:
        return None


def add_errors(form: forms.Form, errors: Mapping[str, list[str]]) -> None:
    """Show compose's errors (keyed by draft field, "" for the whole form) on the form: a
    field the form does not show gets its message at the top. The context key of a compose
    kind (e.g. "event") is the form's `about` select."""
    compose_kind = getattr(form, "compose_kind", None)
    for name, messages in errors.items():
        field = "about" if compose_kind is not None and name == compose_kind.context_key else name
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def context_of(compose_kind: ComposeKind | None, about: object) -> dict[str, Any]:
    """The send's context from the form's `about` select (nothing chosen: no context)."""
    if compose_kind is None:
        return {}
    try:
        return {compose_kind.context_key: int(str(about))}
    except ValueError:
        return {}


def draft_from_data(data: Mapping[str, Any], *, kind: str, compose_kind: ComposeKind | None = None) -> compose.Draft:
    """A best-effort draft from raw POST data, for the live preview (never raises)."""
    return compose.Draft(
        kind=kind,
        subject=(data.get("subject") or "")[:300],
        body=data.get("body") or "",
        send_line=data.get("send_line") in {"on", "true", "1"},
        include_friend_invitation=data.get("include_friend_invitation") == "1",
        recipient_type=data.get("recipient_type") or RecipientKind.CANDIDATE,
        context=context_of(compose_kind, data.get("about")),
    )


def placeholder_help(kind: str, compose_kind: ComposeKind | None = None) -> list[tuple[str, str]]:
    """(code, help) of the placeholders a compose screen offers: the built-in ones (the
    friend-registration URL only on the list's bulk send), and the registered ones that need
    nothing or what this kind of send is about."""
    about = compose_kind.context_key if compose_kind is not None else ""
    offered = [
        ("{{" + name + "}}", text)
        for name, text in rendering.PLACEHOLDERS.items()
        if kind == Kind.BULK or name != rendering.FRIEND_URL
    ]
    offered += [("{{" + p.name + "}}", p.help) for p in placeholders.registered() if p.needs in ("", about)]
    return offered
