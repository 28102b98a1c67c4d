"""The operator's view of sends, deliveries and timeline items: read-only.

Everything here changes only through its own flows (compose, the delivery workers, the
receiving side). An edit in the admin would bypass them: a delivery's status set by hand
skips the pipeline's claim, and raw-id fields would let a row point at another company's
candidate. Nothing is deleted here either: a send's rows are its record of what went out.
"""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from hrmos.admin import ReadOnlyAdmin
from messaging.models import Delivery, DeliveryAttempt, Message, MessageAttachment, Send, SendAttachment


@admin.register(Send)
class SendAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "company",
        "kind",
        "subject",
        "status",
        "send_line",
        "recipient_count",
        "scheduled_at",
        "created_at",
        "delivery_list",
    )
    list_filter = ("status", "kind", "send_line", "recipient_type", "created_at")
    search_fields = ("=id", "subject", "company__name", "company__public_id")
    list_select_related = ("company",)
    date_hierarchy = "created_at"

    @admin.display(description="配信")
    def delivery_list(self, obj: Send) -> str:
        url = reverse("admin:messaging_delivery_changelist") + f"?send__id__exact={obj.pk}"
        return format_html('<a href="{}">配信の一覧</a>', url)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("started_at", "outcome", "http_status", "line_request_id", "smtp_response", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    inlines = (DeliveryAttemptInline,)
    list_display = (
        "id",
        "send_number",
        "channel",
        "recipient_name",
        "status",
        "reason",
        "attempts",
        "throttled",
        "sent_at",
        "updated_at",
    )
    list_filter = ("channel", "status", "recipient_kind")
    search_fields = ("=id", "=send__id", "recipient_name", "address", "line_request_id")
    show_full_result_count = False  # a COUNT over every delivery on each page is not worth it

    @admin.display(description="送信ID", ordering="send_id")
    def send_number(self, delivery: Delivery) -> int:
        return delivery.send_id  # the id only: no join to the send per row


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "company",
        "candidate",
        "channel",
        "direction",
        "content_type",
        "subject",
        "occurred_at",
        "read_at",
        "unsent_at",
    )
    list_filter = ("channel", "direction", "content_type")
    search_fields = ("=id", "subject", "from_address", "email_message_id", "line_message_id", "company__name")
    list_select_related = ("company", "candidate")
    show_full_result_count = False


@admin.register(SendAttachment)
class SendAttachmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "size", "content_type", "send")
    search_fields = ("=id", "name", "=send__id")
    list_select_related = ("send",)


@admin.register(MessageAttachment)
class MessageAttachmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "size", "content_type", "message_number", "created_at")
    search_fields = ("=id", "name", "=message__id")

    @admin.display(description="メッセージID", ordering="message_id")
    def message_number(self, attachment: MessageAttachment) -> int:
        return attachment.message_id
