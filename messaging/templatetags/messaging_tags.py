from typing import Any

from django import template

from hrmos.tenancy import scoped
from messaging.models import Channel, Delivery, MessageTemplate

register = template.Library()

STATUS_STYLE: dict[str, tuple[str, str]] = {
    Delivery.Status.SCHEDULED: ("text-bg-info", "clock"),
    Delivery.Status.QUEUED: ("text-bg-secondary", "hourglass-split"),
    Delivery.Status.SENDING: ("text-bg-primary", "arrow-repeat"),
    Delivery.Status.SENT: ("text-bg-success", "check2"),
    Delivery.Status.FAILED: ("text-bg-danger", "exclamation-triangle"),
    Delivery.Status.SKIPPED: ("text-bg-light border", "dash-circle"),
    Delivery.Status.CANCELLED: ("text-bg-light border", "x-circle"),
}
CHANNEL_ICON: dict[str, str] = {Channel.EMAIL: "envelope", Channel.LINE: "line"}


@register.filter
def status_class(status: str) -> str:
    return STATUS_STYLE.get(status, ("text-bg-secondary", ""))[0]


@register.filter
def status_icon(status: str) -> str:
    return STATUS_STYLE.get(status, ("", "circle"))[1]


@register.filter
def channel_icon(channel: str) -> str:
    return CHANNEL_ICON.get(channel, "chat")


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key, 0) if mapping else 0


@register.inclusion_tag("messaging/message_templates/_picker.html", takes_context=True)
def message_template_picker(
    context: template.Context, *, body: str, subject: str = "", keep: str = "", compact: bool = False
) -> dict[str, Any]:
    """The compose screens' template picker: the company's templates by category. Choosing one
    fills the fields named by the CSS selectors `subject` (left out: body only, e.g. LINE) and
    `body`, then `keep` (e.g. a reply's quote) under the body."""
    templates = scoped(context["request"], MessageTemplate).only("pk", "name", "category").order_by("name", "pk")
    by_category: dict[str, list[MessageTemplate]] = {}
    for message_template in templates:
        by_category.setdefault(message_template.category, []).append(message_template)
    groups = [(label, by_category[value]) for value, label in MessageTemplate.Category.choices if value in by_category]
    return {"groups": groups, "subject": subject, "body": body, "keep": keep, "compact": compact}
