"""Sends, their per-recipient deliveries (the outbox) and the candidate timeline.

A `Send` is one composed message to N recipients. Each recipient gets one `Message` (the
item on the candidate's timeline) and one `Delivery` per channel: an email+LINE send to a
candidate is ONE timeline item with two deliveries, so the timeline shows per-channel status.
The delivery row is the source of truth; Celery messages only wake workers up.
"""

import os
import time
import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from candidates.models import Candidate
from hrmos.models import Company
from hrmos.tenancy import CompanyOwned


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix milliseconds, then random.

    Deliveries are inserted thousands at a time; time-ordered keys append to the primary-key
    index instead of splitting random pages, which keeps a 10,000-recipient compose fast. It
    is still a UUID, as LINE's X-Line-Retry-Key requires.
    """
    value = (int(time.time() * 1000) & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


class Kind(models.TextChoices):
    # Manual sends: a recruiter composed them. These may also go to LINE.
    BULK = "bulk", _("一括メッセージ")
    CANDIDATE = "candidate", _("個別メッセージ")
    REPLY = "reply", _("返信")
    LINE_CHAT = "line_chat", _("LINEメッセージ")
    EVENT_INVITATION = "event_invitation", _("イベント案内")
    EVENT_MESSAGE = "event_message", _("イベントメッセージ")
    SCHEDULING_REQUEST = "scheduling_request", _("日程調整のご依頼")
    FORM_REQUEST = "form_request", _("フォームのご案内")
    # The 「LINE友達登録」 tab's one-click re-send of a fresh friend-registration link.
    FRIEND_INVITATION = "friend_invitation", _("LINE友達登録のご案内")
    # Automatic sends (the seed's list of messages that never go to LINE).
    INTERVIEW_REMINDER = "interview_reminder", _("選考前日の自動リマインド")
    EVENT_REMINDER = "event_reminder", _("イベント前日の自動リマインド")
    SCHEDULING_CONFIRMATION = "scheduling_confirmation", _("日程調整の回答完了時の確認・キャンセル")
    FORM_CONFIRMATION = "form_confirmation", _("カスタムフォームの回答完了時の確認")
    EVENT_APPLICATION_CONFIRMATION = "event_application_confirmation", _("イベント申し込み完了時の確認・キャンセル")
    SELECTION_RESULT = "selection_result", _("選考結果の自動通知")


AUTOMATIC_KINDS: frozenset[str] = frozenset(
    {
        Kind.INTERVIEW_REMINDER,
        Kind.EVENT_REMINDER,
        Kind.SCHEDULING_CONFIRMATION,
        Kind.FORM_CONFIRMATION,
        Kind.EVENT_APPLICATION_CONFIRMATION,
        Kind.SELECTION_RESULT,
    }
)
MANUAL_KINDS: frozenset[str] = frozenset(k for k in Kind.values if k not in AUTOMATIC_KINDS)
# The kinds whose email may carry a per-candidate {{LINE友達登録URL}}.
INVITATION_KINDS: frozenset[str] = frozenset({Kind.BULK, Kind.FRIEND_INVITATION})


class Channel(models.TextChoices):
    EMAIL = "email", _("メール")
    LINE = "line", _("LINE")


class RecipientKind(models.TextChoices):
    CANDIDATE = "candidate", _("候補者")
    AGENT = "agent", _("エージェント")


class Send(CompanyOwned):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("送信予約")
        QUEUED = "queued", _("送信待ち")
        IN_PROGRESS = "in_progress", _("送信中")
        DONE = "done", _("送信完了")
        CANCELLED = "cancelled", _("キャンセル済み")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("送信者"), on_delete=models.SET_NULL, null=True, blank=True
    )
    sender_name = models.CharField(_("送信者名"), max_length=100, blank=True)
    # The sender's department when the send was made, for {{送信者部署}} (like the name above).
    sender_department = models.CharField(_("送信者部署"), max_length=100, blank=True)
    kind = models.CharField(_("種類"), max_length=40, choices=Kind.choices, default=Kind.BULK)
    subject = models.CharField(_("件名"), max_length=200, blank=True)
    body = models.TextField(_("本文"))
    send_line = models.BooleanField(_("LINEメッセージを送信する"), default=False)
    recipient_type = models.CharField(
        _("宛先"), max_length=16, choices=RecipientKind.choices, default=RecipientKind.CANDIDATE
    )
    include_friend_invitation = models.BooleanField(_("LINE友達登録URL"), default=False)
    scheduled_at = models.DateTimeField(_("送信予約日時"), null=True, blank=True)
    status = models.CharField(_("状態"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    version = models.PositiveIntegerField(default=1)  # optimistic lock for edits of scheduled sends
    in_reply_to = models.ForeignKey(
        "Message", verbose_name=_("返信元"), on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    recipient_count = models.PositiveIntegerField(_("宛先数"), default=0)
    # What the send is about, for the placeholders of the apps above (e.g. {"event": 12}).
    context = models.JSONField(_("送信の対象"), default=dict, blank=True)
    # The compose form's own id (a hidden UUID): a second POST of the same form finds this send
    # instead of creating another. Null for sends made by code.
    client_token = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(_("送信開始日時"), null=True, blank=True)
    completed_at = models.DateTimeField(_("送信完了日時"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("キャンセル日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("送信")
        verbose_name_plural = _("送信")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The pipeline already refuses LINE for automatic kinds; this is the backstop.
            models.CheckConstraint(
                condition=~(Q(kind__in=sorted(AUTOMATIC_KINDS)) & Q(send_line=True)),
                name="send_automatic_kinds_never_line",
            ),
            models.UniqueConstraint(fields=["company", "client_token"], name="send_client_token_unique"),
        ]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="send_company_created"),
            models.Index(fields=["scheduled_at"], name="send_due_scheduled", condition=Q(status="scheduled")),
        ]

    def __str__(self) -> str:
        return self.subject or self.body[:30]

    @property
    def is_automatic(self) -> bool:
        return self.kind in AUTOMATIC_KINDS

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.SCHEDULED


def _attachment_path(folder: str, instance: CompanyOwned, filename: str) -> str:
    return f"messaging/{folder}/{instance.company_id}/{uuid.uuid4().hex}/{PurePath(filename).name}"


def send_attachment_path(instance: "SendAttachment", filename: str) -> str:
    return _attachment_path("sends", instance, filename)


def message_attachment_path(instance: "MessageAttachment", filename: str) -> str:
    return _attachment_path("messages", instance, filename)


class Attachment(CompanyOwned):
    """What is kept of a stored file besides the file itself (each kind has its own file field)."""

    name = models.CharField(_("ファイル名"), max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class SendAttachment(Attachment):
    """A file attached to a send's email (never to LINE). Private: served by a scoped view."""

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=send_attachment_path, max_length=300)

    class Meta:
        verbose_name = _("添付ファイル")
        verbose_name_plural = _("添付ファイル")
        ordering = ["id"]


class Message(CompanyOwned):
    """One item of a candidate's timeline: an email or a LINE message, in or out.

    Outgoing items are created by a `Send` (one per recipient, whatever the channels) and carry
    their deliveries. Incoming items are created by the receiving side (see `messaging.inbound`):
    the LINE and content fields below exist so that side needs no schema change.
    """

    class Direction(models.TextChoices):
        OUT = "out", _("送信")
        IN = "in", _("受信")

    class ContentType(models.TextChoices):
        TEXT = "text", _("テキスト")
        STICKER = "sticker", _("スタンプ")
        IMAGE = "image", _("画像")
        VIDEO = "video", _("動画")
        AUDIO = "audio", _("音声")
        FILE = "file", _("ファイル")
        LOCATION = "location", _("位置情報")
        UNKNOWN = "unknown", _("その他")

    # Looked up by candidate (the (candidate, occurred_at) index) or by the partial indexes below;
    # FK indexes of their own on company and candidate would only slow a big send's inserts.
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", editable=False, db_index=False)
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="messages", db_index=False)
    # For outgoing items: the channels the send chose ("email", "line" or both); the per-channel
    # truth is in the deliveries. For incoming items: the one channel it arrived on.
    channel = models.CharField(_("チャネル"), max_length=8, choices=Channel.choices)
    direction = models.CharField(_("方向"), max_length=3, choices=Direction.choices)
    recipient_kind = models.CharField(
        _("宛先"), max_length=16, choices=RecipientKind.choices, default=RecipientKind.CANDIDATE
    )
    subject = models.CharField(_("件名"), max_length=300, blank=True)
    body = models.TextField(_("本文"), blank=True)
    occurred_at = models.DateTimeField(_("日時"), db_index=True)
    send = models.ForeignKey(Send, on_delete=models.CASCADE, null=True, blank=True, related_name="messages")
    created_at = models.DateTimeField(auto_now_add=True)

    # Incoming details (filled by the receiving side).
    sender_name = models.CharField(_("差出人"), max_length=200, blank=True)  # LINE display name or From name
    from_address = models.CharField(_("差出人アドレス"), max_length=254, blank=True)
    email_message_id = models.CharField(_("Message-ID"), max_length=300, blank=True)
    line_message_id = models.CharField(_("LINEメッセージID"), max_length=64, null=True, blank=True)
    content_type = models.CharField(
        _("内容の種類"), max_length=16, choices=ContentType.choices, default=ContentType.TEXT
    )
    sticker_package_id = models.CharField(max_length=32, blank=True)
    sticker_id = models.CharField(max_length=32, blank=True)
    file_name = models.CharField(_("ファイル名"), max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)  # e.g. location title/address/lat/lng, duration
    unsent_at = models.DateTimeField(_("送信取消日時"), null=True, blank=True)
    read_at = models.DateTimeField(_("既読日時"), null=True, blank=True)
    handled_at = models.DateTimeField(_("対応済み日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("メッセージ")
        verbose_name_plural = _("メッセージ")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "line_message_id"],
                condition=Q(line_message_id__isnull=False),
                name="message_line_id_unique_per_company",
            ),
            # Mail providers retry inbound webhooks, sometimes concurrently: one row per Message-ID.
            models.UniqueConstraint(
                fields=["company", "email_message_id"],
                condition=~Q(email_message_id=""),
                name="message_email_id_unique_per_company",
            ),
        ]
        indexes = [
            models.Index(fields=["candidate", "occurred_at"], name="message_candidate_time"),
            models.Index(
                fields=["company", "-occurred_at"],
                name="message_unread_in",
                condition=Q(direction="in", read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.body[:30]

    @property
    def is_outgoing(self) -> bool:
        return self.direction == self.Direction.OUT


class MessageAttachment(Attachment):
    """A file that came with an incoming message: an email attachment or LINE content."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=message_attachment_path, max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("受信添付ファイル")
        verbose_name_plural = _("受信添付ファイル")
        ordering = ["id"]


class Delivery(CompanyOwned):
    """One recipient on one channel: the outbox row. Its UUID is LINE's X-Line-Retry-Key."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("送信予約")
        QUEUED = "queued", _("送信待ち")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("失敗")
        SKIPPED = "skipped", _("送信しない")
        CANCELLED = "cancelled", _("キャンセル")

    FINAL = frozenset({Status.SENT, Status.FAILED, Status.SKIPPED, Status.CANCELLED})

    # Rows are looked up by send (composite indexes below) or by id; the company and send FK
    # indexes of their own would only slow the 20,000-row inserts of a big send.
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", editable=False, db_index=False)
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    # SET_NULL on both so that a candidate deleted before a scheduled send leaves a visible,
    # skipped delivery with its snapshot below, never a silent drop.
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries")
    candidate = models.ForeignKey(
        Candidate, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    channel = models.CharField(_("チャネル"), max_length=8, choices=Channel.choices)
    recipient_kind = models.CharField(
        _("宛先"), max_length=16, choices=RecipientKind.choices, default=RecipientKind.CANDIDATE
    )
    # Position of the recipient in the send: the deliveries of one recipient share it, so the
    # send page can list recipients (not rows) even after a candidate was deleted.
    recipient_index = models.PositiveIntegerField(default=0)
    recipient_name = models.CharField(_("宛先名"), max_length=200, blank=True)
    address = models.CharField(_("宛先アドレス"), max_length=254, blank=True)  # email or LINE userId
    status = models.CharField(_("状態"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(_("理由"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    # LINE rate-limit 429s met so far: they are retried outside `attempts` (their own cap, see
    # pipeline.throttled), since being throttled says nothing about the message.
    throttled = models.PositiveSmallIntegerField(_("レート制限による再試行"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)  # set while `sending`
    sending_since = models.DateTimeField(null=True, blank=True)
    line_request_id = models.CharField(max_length=64, blank=True)
    line_accepted_request_id = models.CharField(max_length=64, blank=True)
    line_message_ids = models.JSONField(default=list, blank=True)
    # Rendered once, at the first attempt, and stored before that attempt's push or email, so
    # every retry (even after a crash mid-send) sends identical content (LINE requires an
    # identical body under one retry key).
    rendered_subject = models.CharField(max_length=300, blank=True)
    rendered_body = models.TextField(blank=True)
    line_texts = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("配信")
        verbose_name_plural = _("配信")
        ordering = ["created_at", "id"]
        constraints = [
            # One row per recipient per channel (the recipient index is the send's own numbering of
            # its recipients; it survives a candidate's deletion). Also serves the recipient list.
            models.UniqueConstraint(
                fields=["send", "recipient_index", "channel"], name="delivery_unique_per_recipient"
            ),
        ]
        indexes = [
            models.Index(fields=["send", "channel", "status"], name="delivery_send_channel_status"),
            models.Index(fields=["next_attempt_at"], name="delivery_queued_due", condition=Q(status="queued")),
            models.Index(fields=["lease_expires_at"], name="delivery_sending_lease", condition=Q(status="sending")),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.recipient_name} ({self.get_status_display()})"

    @property
    def retry_key(self) -> str:
        return str(self.id)

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class AutomaticSendKey(CompanyOwned):
    """An automatic message that must go at most once (a reminder, a delayed notice): its key
    is inserted in the same transaction as its send, so a second tick, a re-run or a retry
    after a crash finds it and sends nothing (see sending/automatic.py)."""

    key = models.CharField(_("キー"), max_length=200)
    send = models.ForeignKey(Send, verbose_name=_("送信"), on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("自動送信の記録")
        verbose_name_plural = _("自動送信の記録")
        constraints = [models.UniqueConstraint(fields=["company", "key"], name="automatic_send_key_unique")]

    def __str__(self) -> str:
        return self.key


class AutomaticMessageSetting(CompanyOwned):
    """A company's template and switch for one automatic kind (自動送信メール設定). Absent: the
    kind's defaults (`sending/automatic.py`). Email only, whatever is set here."""

    kind = models.CharField(_("種類"), max_length=40, choices=Kind.choices)
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    enabled = models.BooleanField(_("送信する"), default=True)
    # Reminders: the hour of the day before (Japan time) they go out.
    hour = models.PositiveSmallIntegerField(_("送信時刻（時）"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("更新者"), on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        verbose_name = _("自動送信メール設定")
        verbose_name_plural = _("自動送信メール設定")
        constraints = [
            models.UniqueConstraint(fields=["company", "kind"], name="automatic_setting_unique_per_kind"),
            models.CheckConstraint(
                condition=Q(hour__isnull=True) | Q(hour__lte=23), name="automatic_setting_hour_of_day"
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class MessageTemplate(CompanyOwned):
    """A company's saved message (メッセージテンプレート): the compose screens' picker fills the
    subject and body from it. Its placeholders are checked on save (known names only); whether
    each one has a value where the template is used is compose's judgement at send time."""

    class Category(models.TextChoices):
        SEMINAR = "seminar", _("説明会")
        INTERVIEW = "interview", _("面接")
        RESULT = "result", _("合否連絡")
        OTHER = "other", _("その他")

    name = models.CharField(_("テンプレート名"), max_length=100)
    category = models.CharField(_("カテゴリ"), max_length=20, choices=Category.choices, default=Category.OTHER)
    # Blank: a template for the LINE tab, which sends the body only.
    subject = models.CharField(_("件名"), max_length=200, blank=True)
    body = models.TextField(_("本文"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作成者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("更新者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("メッセージテンプレート")
        verbose_name_plural = _("メッセージテンプレート")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="message_template_name_unique")]

    def __str__(self) -> str:
        return self.name


class RateBucket(models.Model):
    """The token bucket's fallback store when Redis is not configured (development): one row
    per key, updated under a row lock, so it still holds across worker processes."""

    key = models.CharField(max_length=100, primary_key=True)
    tokens = models.FloatField(default=0)
    updated = models.FloatField(default=0)  # time.time() of the last refill

    class Meta:
        verbose_name = _("送信レート制御")
        verbose_name_plural = _("送信レート制御")

    def __str__(self) -> str:
        return self.key
