"""A company's LINE link (LineIntegration), its candidates' LINE users (LineAccount) and their
friend-registration invitations (FriendInvitation)."""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from candidates.models import Candidate
from hrmos.fields import EncryptedTextField
from hrmos.models import Company
from hrmos.tenancy import CompanyOwned, company_pk

SECRET_MASK_LENGTH = 28

# LINE's webhook test `reason` values, as the settings page says them.
WEBHOOK_TEST_REASONS = {
    "OK": "成功",
    "COULD_NOT_CONNECT": "接続できませんでした",
    "REQUEST_TIMEOUT": "タイムアウトしました（2秒以内に応答がありません）",
    "ERROR_STATUS_CODE": "エラーの応答が返りました",
    "UNCLASSIFIED": "不明なエラーです",
}


def mask_secret(secret: str) -> str:
    """What the settings page shows for a stored secret: bullets and the last 4 characters."""
    if not secret:
        return ""
    return "•" * SECRET_MASK_LENGTH + secret[-4:]


def callback_url(company: Company) -> str:
    """The LINE Login callback URL the recruiter registers on the Login channel."""
    return f"{settings.SITE_URL}/line/callback/{company.public_id}/"


def webhook_url(company: Company) -> str:
    """The webhook URL set on the Messaging API channel (by 「Webhookを設定」 or by hand)."""
    return f"{settings.SITE_URL}/line/webhook/{company.public_id}/"


def local_display(moment: datetime) -> str:
    """A stored (UTC) time as the recruiter reads it: Japan time, to the minute."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


class LineIntegrationQuerySet(models.QuerySet["LineIntegration"]):
    def for_company_or_none(self, company: Company | int) -> "LineIntegration | None":
        """The company's integration row whatever its status (check `is_linked`), or None when
        the company never started linking. Never creates one: see
        `actions.get_or_create_integration` for that."""
        return self.filter(company_id=company_pk(company)).first()


class LineIntegration(models.Model):
    """One company's Messaging API channel + LINE Login channel (LINE連携).

    Secrets and the cached channel access token are encrypted at rest. The row is created on
    the first 連携を開始 and kept after an unlink, with status 未連携 and the channels, secrets,
    token and bot cleared.
    """

    class Status(models.TextChoices):
        UNLINKED = "unlinked", _("未連携")
        LINKED = "linked", _("連携中")

    company = models.OneToOneField(
        Company, verbose_name=_("企業"), on_delete=models.CASCADE, related_name="line_integration"
    )
    status = models.CharField(_("連携状況"), max_length=16, choices=Status.choices, default=Status.UNLINKED)

    messaging_channel_id = models.CharField(_("Messaging API チャネルID"), max_length=10, blank=True)
    messaging_channel_secret = EncryptedTextField(_("Messaging API チャネルシークレット"))
    login_channel_id = models.CharField(_("LINEログイン チャネルID"), max_length=10, blank=True)
    login_channel_secret = EncryptedTextField(_("LINEログイン チャネルシークレット"))

    # From GET /v2/bot/info at link time. bot_user_id is the webhook `destination`.
    bot_user_id = models.CharField(_("ボットのユーザーID"), max_length=33, blank=True, db_index=True)
    bot_basic_id = models.CharField(_("ベーシックID"), max_length=64, blank=True)
    bot_display_name = models.CharField(_("アカウント名"), max_length=100, blank=True)
    bot_picture_url = models.URLField(_("プロフィール画像"), max_length=500, blank=True)
    bot_chat_mode = models.CharField(_("チャット設定"), max_length=8, blank=True)  # "chat" (ON) / "bot" (OFF)

    # The stateless channel access token shared by every process (see tokens.py).
    access_token = EncryptedTextField(_("チャネルアクセストークン"))
    access_token_expires_at = models.DateTimeField(_("アクセストークンの有効期限"), null=True, blank=True)

    webhook_endpoint = models.URLField(_("設定したWebhook URL"), max_length=500, blank=True)
    webhook_active = models.BooleanField(_("Webhookの利用"), null=True, blank=True)
    webhook_set_at = models.DateTimeField(_("Webhook URLの設定日時"), null=True, blank=True)
    webhook_test_success = models.BooleanField(_("Webhook検証の成否"), null=True, blank=True)
    webhook_test_status_code = models.IntegerField(_("Webhook検証のHTTPステータス"), null=True, blank=True)
    webhook_test_reason = models.CharField(_("Webhook検証の結果の理由"), max_length=32, blank=True)
    webhook_test_detail = models.CharField(_("Webhook検証の詳細"), max_length=500, blank=True)
    webhook_tested_at = models.DateTimeField(_("Webhook検証日時"), null=True, blank=True)

    linked_at = models.DateTimeField(_("連携日時"), null=True, blank=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("連携した採用担当者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = LineIntegrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("LINE連携")
        verbose_name_plural = _("LINE連携")
        constraints = [
            # One Official Account can serve one company: its webhooks and userIds are one tenant's.
            models.UniqueConstraint(
                fields=["messaging_channel_id"],
                condition=models.Q(status="linked"),
                name="line_integration_messaging_channel_linked_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company} ({self.get_status_display()})"

    @property
    def is_linked(self) -> bool:
        return self.status == self.Status.LINKED

    @property
    def messaging_secret_masked(self) -> str:
        return mask_secret(self.messaging_channel_secret)

    @property
    def login_secret_masked(self) -> str:
        return mask_secret(self.login_channel_secret)

    @property
    def webhook_test_reason_label(self) -> str:
        return WEBHOOK_TEST_REASONS.get(self.webhook_test_reason, self.webhook_test_reason)

    @property
    def add_friend_url(self) -> str:
        """LINE's add-friend link for the Official Account (`@` percent-encoded), on `LINE_WEB_BASE`."""
        if not self.bot_basic_id:
            return ""
        return f"{settings.LINE_WEB_BASE}/R/ti/p/{self.bot_basic_id.replace('@', '%40')}"

    @cached_property
    def login_proven(self) -> bool:
        """A candidate has come back from LINE Login through our callback since this link: the
        callback URL is registered and the Login channel is usable by the public (checklist)."""
        if not self.is_linked or self.linked_at is None:
            return False
        return LineLoginAttempt.objects.filter(
            company_id=self.company_id,
            used_at__gte=self.linked_at,
            outcome__in=LineLoginAttempt.PROVEN_OUTCOMES,
        ).exists()

    @cached_property
    def linked_oa_proven(self) -> bool:
        """Since this link, LINE Login offered a candidate the add-friend option or reported a
        friendship: the Login channel has the Official Account linked (checklist)."""
        if not self.is_linked or self.linked_at is None:
            return False
        return LineLoginAttempt.objects.filter(
            company_id=self.company_id, used_at__gte=self.linked_at, linked_oa_seen=True
        ).exists()

    def clear_link(self) -> None:
        """Forget the channels, secrets, token and bot; the caller saves."""
        self.status = self.Status.UNLINKED
        self.messaging_channel_id = ""
        self.messaging_channel_secret = ""
        self.login_channel_id = ""
        self.login_channel_secret = ""
        self.bot_user_id = ""
        self.bot_basic_id = ""
        self.bot_display_name = ""
        self.bot_picture_url = ""
        self.bot_chat_mode = ""
        self.access_token = ""
        self.access_token_expires_at = None
        self.webhook_endpoint = ""
        self.webhook_active = None
        self.webhook_set_at = None
        self.webhook_test_success = None
        self.webhook_test_status_code = None
        self.webhook_test_reason = ""
        self.webhook_test_detail = ""
        self.webhook_tested_at = None
        self.linked_at = None
        self.linked_by = None


class LineAccount(CompanyOwned):
    """A candidate's LINE user in this company's provider (LINE友達).

    Created by friend registration (LINE Login) and kept in step by follow/unfollow webhooks.
    `line_user_id` is provider-scoped: the same person has another id under another provider.
    """

    class FriendState(models.TextChoices):
        FRIEND = "friend", _("友達")
        BLOCKED = "blocked", _("ブロック")
        NOT_FRIEND = "not_friend", _("未友達")  # logged in with LINE but has not added the OA

    candidate = models.OneToOneField(
        Candidate, verbose_name=_("候補者"), on_delete=models.CASCADE, related_name="line_account"
    )
    line_user_id = models.CharField(_("LINEユーザーID"), max_length=33)
    display_name = models.CharField(_("LINEの表示名"), max_length=100, blank=True)
    picture_url = models.URLField(_("プロフィール画像"), max_length=500, blank=True)
    friend_state = models.CharField(
        _("友達状態"), max_length=16, choices=FriendState.choices, default=FriendState.NOT_FRIEND
    )
    linked_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    state_changed_at = models.DateTimeField(_("状態の変更日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("LINE友達")
        verbose_name_plural = _("LINE友達")
        constraints = [
            models.UniqueConstraint(fields=["company", "line_user_id"], name="line_account_user_unique_per_company"),
        ]
        indexes = [models.Index(fields=["company", "friend_state"], name="line_account_company_state")]

    def __str__(self) -> str:
        return f"{self.display_name or self.line_user_id} ({self.get_friend_state_display()})"


class FriendInvitation(CompanyOwned):
    """A per-candidate LINE friend-registration link (友達登録URL), valid 7 days from sending.

    Issued by the sending pipeline when the invitation email is actually rendered for sending
    (see `line_integration.invitations.issue_invitation`). Only the SHA-256 of the random token
    is stored; the raw token exists only in the URL inside the outgoing email.
    """

    candidate = models.ForeignKey(
        Candidate, verbose_name=_("候補者"), on_delete=models.CASCADE, related_name="friend_invitations"
    )
    token_hash = models.CharField(_("トークンのハッシュ"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("発行日時"))
    expires_at = models.DateTimeField(_("有効期限"))
    used_at = models.DateTimeField(_("使用日時"), null=True, blank=True)
    delivery_id = models.UUIDField(_("配信ID"), null=True, blank=True)  # messaging.Delivery that carried it

    class Meta:
        verbose_name = _("LINE友達登録URL")
        verbose_name_plural = _("LINE友達登録URL")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["candidate", "-created_at"], name="friend_invitation_candidate")]

    def __str__(self) -> str:
        return f"{self.candidate} ({local_display(self.expires_at)}まで)"

    def is_valid_at(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


class LineLoginAttempt(CompanyOwned):
    """One trip through LINE Login for a friend-registration invitation (友達登録).

    Created when the candidate presses 「LINEでログイン」 on the landing page, it binds the OAuth
    `state` (stored as its SHA-256), the `nonce` and the PKCE verifier (encrypted) to the
    invitation server-side, so the callback works even when the session cookie did not survive
    (mail apps and LINE's in-app browser). Used once: the callback claims it with a conditional
    update, whatever the outcome. `public_id` names the attempt in the candidate's retry and
    result URLs; the state never appears outside LINE's redirect.
    """

    LIFETIME_MINUTES = 10

    class Outcome(models.TextChoices):
        PENDING = "pending", _("処理中")
        LINKED = "linked", _("登録完了")
        ALREADY_REGISTERED = "already_registered", _("登録済み")
        CONFLICT = "conflict", _("他の候補者と重複")
        FAILED = "failed", _("失敗")

    # Outcomes reached only after LINE Login answered our callback with a verified ID token.
    PROVEN_OUTCOMES = (Outcome.LINKED, Outcome.ALREADY_REGISTERED, Outcome.CONFLICT)

    public_id = models.UUIDField(_("公開ID"), default=uuid.uuid4, unique=True, editable=False)
    invitation = models.ForeignKey(
        FriendInvitation, verbose_name=_("LINE友達登録URL"), on_delete=models.CASCADE, related_name="login_attempts"
    )
    state_hash = models.CharField(_("stateのハッシュ"), max_length=64, unique=True, editable=False)
    nonce = models.CharField(_("ノンス（nonce）"), max_length=64, editable=False)
    code_verifier = EncryptedTextField(_("PKCEコード検証子"))
    created_at = models.DateTimeField(_("開始日時"))
    expires_at = models.DateTimeField(_("有効期限"))
    used_at = models.DateTimeField(_("使用日時"), null=True, blank=True)
    # False when the callback came back in a browser without this attempt in its session.
    session_matched = models.BooleanField(_("同じブラウザで完了"), null=True, blank=True)
    outcome = models.CharField(_("結果"), max_length=24, choices=Outcome.choices, default=Outcome.PENDING)
    failure_reason = models.CharField(_("失敗の理由"), max_length=64, blank=True)
    line_user_id = models.CharField(_("LINEユーザーID"), max_length=33, blank=True)
    # LINE showed the add-friend option (`friendship_status_changed` came back) or said the user
    # is a friend: the Login channel has a linked Official Account (checklist).
    linked_oa_seen = models.BooleanField(_("リンクされたLINE公式アカウントを確認"), default=False)
    # For a conflict: the candidate of this company that already holds the LINE user.
    conflicting_candidate = models.ForeignKey(
        Candidate,
        verbose_name=_("登録済みの候補者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("LINEログイン試行")
        verbose_name_plural = _("LINEログイン試行")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.invitation.candidate} {local_display(self.created_at)} ({self.get_outcome_display()})"

    @property
    def is_conflict(self) -> bool:
        return self.outcome == self.Outcome.CONFLICT


class LineWebhookEvent(CompanyOwned):
    """One event LINE sent to the company's webhook, stored before we answer 200.

    The raw event JSON (`payload`) is the source of truth; the columns beside it are copies for
    routing and lookups. `(company, webhook_event_id)` is unique, so a redelivered or duplicated
    event is stored once (the webhook inserts with ON CONFLICT DO NOTHING). Processing
    (`line_integration.events`) claims the row with a short lease, applies the effect
    idempotently and records `processed_at` and the `outcome`. Written by the webhook view,
    read by friend registration (follow/unfollow that arrived before the candidate linked).
    """

    # Outcomes written by events.py; friends.py adds "friend", "blocked", "stale".
    PROCESSED = "processed"
    IGNORED = "ignored"
    UNLINKED = "unlinked"  # from a LINE user no candidate is linked to yet: kept for reconcile_user
    FAILED = "failed"
    CONTENT = "content"  # not final (processed_at NULL): on the timeline, the file download is due

    # No index of its own: both indexes below and the unique constraint start with company, and
    # every index here costs each webhook INSERT.
    company = models.ForeignKey(
        Company, verbose_name=_("企業"), on_delete=models.CASCADE, related_name="+", editable=False, db_index=False
    )
    webhook_event_id = models.CharField(_("Webhookイベント ID"), max_length=64)
    event_type = models.CharField(_("イベントの種類"), max_length=40)
    source_type = models.CharField(_("送信元の種類"), max_length=8, blank=True)  # user / group / room
    source_user_id = models.CharField(_("LINEユーザーID"), max_length=64, blank=True)
    # message.id for message events, unsend.messageId for unsend events (pairs them up, looked up
    # within one user's events: every index here costs each webhook INSERT).
    line_message_id = models.CharField(_("LINEメッセージID"), max_length=32, blank=True)
    timestamp = models.DateTimeField(_("イベント日時"))  # LINE's event time, not arrival
    is_redelivery = models.BooleanField(_("再送"), default=False)
    mode = models.CharField(_("モード"), max_length=16, blank=True)  # active / standby
    payload = models.JSONField(_("イベント（JSON）"))
    received_at = models.DateTimeField(_("受信日時"))
    processed_at = models.DateTimeField(_("処理日時"), null=True, blank=True)
    outcome = models.CharField(_("処理結果"), max_length=32, blank=True)
    detail = models.TextField(_("詳細・エラー"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("処理回数"), default=0)
    next_attempt_at = models.DateTimeField(_("次の処理予定"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("処理中の期限"), null=True, blank=True)  # a worker's lease while processing

    class Meta:
        verbose_name = _("LINE Webhookイベント")
        verbose_name_plural = _("LINE Webhookイベント")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "webhook_event_id"], name="line_webhook_event_unique"),
        ]
        indexes = [
            models.Index(fields=["company", "source_user_id"], name="line_webhook_event_user"),
            models.Index(
                fields=["received_at"], name="line_webhook_event_pending", condition=models.Q(processed_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_event_id} ({self.outcome or '未処理'})"

    @property
    def is_processed(self) -> bool:
        return self.processed_at is not None
