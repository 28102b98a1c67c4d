from django import template

from messaging.models import Channel, Delivery

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
