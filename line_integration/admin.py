from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from line_integration.models import FriendInvitation, LineAccount, LineIntegration, LineLoginAttempt, LineWebhookEvent
from line_integration.processing import tasks


class ReadOnlyAdmin(admin.ModelAdmin):
    """LINE state changes only through its own flows (linking, LINE Login, webhooks)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LineIntegration)
class LineIntegrationAdmin(ReadOnlyAdmin):
    """Read-only: links are made and changed only through the verified 連携を開始 action.
    Secrets and the token are shown masked; the encrypted fields are not editable anywhere."""

    list_display = ("company", "status", "bot_display_name", "bot_basic_id", "messaging_channel_id", "linked_at")
    list_filter = ("status",)
    search_fields = ("company__name", "company__public_id", "bot_basic_id", "messaging_channel_id", "bot_user_id")
    fields = (
        "company",
        "status",
        ("messaging_channel_id", "messaging_secret"),
        ("login_channel_id", "login_secret"),
        ("bot_display_name", "bot_basic_id"),
        "bot_user_id",
        "bot_picture_url",
        "bot_chat_mode",
        ("access_token_state", "access_token_expires_at"),
        ("webhook_endpoint", "webhook_active", "webhook_set_at"),
        ("webhook_test_success", "webhook_test_status_code", "webhook_test_reason"),
        "webhook_test_detail",
        "webhook_tested_at",
        ("linked_at", "linked_by"),
        ("created_at", "updated_at"),
    )
    readonly_fields = (
        "company",
        "status",
        "messaging_channel_id",
        "messaging_secret",
        "login_channel_id",
        "login_secret",
        "bot_display_name",
        "bot_basic_id",
        "bot_user_id",
        "bot_picture_url",
        "bot_chat_mode",
        "access_token_state",
        "access_token_expires_at",
        "webhook_endpoint",
        "webhook_active",
        "webhook_set_at",
        "webhook_test_success",
        "webhook_test_status_code",
        "webhook_test_reason",
        "webhook_test_detail",
        "webhook_tested_at",
        "linked_at",
        "linked_by",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Messaging API チャネルシークレット")
    def messaging_secret(self, obj: LineIntegration) -> str:
        return obj.messaging_secret_masked or "—"

    @admin.display(description="LINEログイン チャネルシークレット")
    def login_secret(self, obj: LineIntegration) -> str:
        return obj.login_secret_masked or "—"

    @admin.display(description="チャネルアクセストークン")
    def access_token_state(self, obj: LineIntegration) -> str:
        return "キャッシュあり（非表示）" if obj.access_token else "なし"


@admin.register(LineAccount)
class LineAccountAdmin(ReadOnlyAdmin):
    list_display = ("candidate", "company", "display_name", "friend_state", "linked_at", "state_changed_at")
    list_filter = ("friend_state",)
    search_fields = ("display_name", "line_user_id", "candidate__last_name", "candidate__email")
    readonly_fields = (
        "company",
        "candidate",
        "line_user_id",
        "display_name",
        "picture_url",
        "friend_state",
        "linked_at",
        "state_changed_at",
    )


@admin.register(FriendInvitation)
class FriendInvitationAdmin(ReadOnlyAdmin):
    list_display = ("candidate", "company", "created_at", "expires_at", "used_at")
    search_fields = ("candidate__last_name", "candidate__email")
    exclude = ("token_hash",)


@admin.register(LineLoginAttempt)
class LineLoginAttemptAdmin(ReadOnlyAdmin):
    list_display = ("invitation", "company", "created_at", "outcome", "failure_reason", "session_matched")
    list_filter = ("outcome",)
    exclude = ("state_hash", "nonce", "code_verifier")


@admin.register(LineWebhookEvent)
class LineWebhookEventAdmin(ReadOnlyAdmin):
    """Received events as LINE sent them: find a failed one, read why, run it again."""

    list_display = ("received_at", "company", "event_type", "source_user_id", "outcome", "attempts", "is_redelivery")
    list_filter = ("outcome", "event_type", "is_redelivery")
    search_fields = ("webhook_event_id", "source_user_id", "line_message_id", "company__public_id")
    actions = ["process_again"]

    @admin.action(description="選択したイベントを再処理する")
    def process_again(self, request: HttpRequest, queryset: QuerySet[LineWebhookEvent]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        queryset.update(processed_at=None, outcome="", attempts=0, next_attempt_at=None, claimed_until=None)
        for event_id in ids:
            tasks.process_event.delay_on_commit(event_id)
        self.message_user(request, f"{len(ids)}件のイベントを再処理します。")
