from django.contrib import admin
from django.http import HttpRequest

from line_integration.models import LineAccount, LineIntegration


@admin.register(LineIntegration)
class LineIntegrationAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LineIntegration | None = None) -> bool:
        return False


@admin.register(LineAccount)
class LineAccountAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LineAccount | None = None) -> bool:
        return False
