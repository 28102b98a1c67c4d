from django.contrib import admin

from messaging.models import Delivery, Message, MessageAttachment, Send, SendAttachment


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("channel", "recipient_name", "address", "status", "reason", "attempts", "sent_at")
    readonly_fields = fields
    max_num = 0


@admin.register(Send)
class SendAdmin(admin.ModelAdmin):
    list_display = ("id", "company", "kind", "subject", "status", "recipient_count", "scheduled_at", "created_at")
    list_filter = ("status", "kind", "send_line")
    search_fields = ("subject",)
    raw_id_fields = ("created_by", "in_reply_to")
    readonly_fields = ("company", "version", "started_at", "completed_at", "cancelled_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "send", "channel", "recipient_name", "status", "reason", "attempts", "updated_at")
    list_filter = ("channel", "status")
    search_fields = ("recipient_name", "address", "id")
    raw_id_fields = ("send", "message", "candidate")
    readonly_fields = ("company", "line_request_id", "line_accepted_request_id", "line_message_ids")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "candidate", "channel", "direction", "subject", "occurred_at")
    list_filter = ("channel", "direction", "content_type")
    raw_id_fields = ("candidate", "send")
    readonly_fields = ("company",)


admin.site.register(SendAttachment)
admin.site.register(MessageAttachment)
