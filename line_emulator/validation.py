"""LINE's validation of message objects, with LINE's error strings."""

import re
from typing import Any

from django.http import HttpResponse

from line_emulator.http import line_error

MESSAGE_TYPES = [
    "text",
    "image",
    "video",
    "audio",
    "location",
    "sticker",
    "imagemap",
    "template",
    "flex",
    "textV2",
    "coupon",
]
# Message types LINE returns a quoteToken for in sentMessages.
QUOTABLE_TYPES = {"text", "textV2", "sticker", "image", "video"}
TO_PATTERN = re.compile(r"^[UCR][0-9a-f]{32}$")
USER_ID_PATTERN = re.compile(r"^U[0-9a-f]{32}$")
AGGREGATION_UNIT_PATTERN = re.compile(r"^[a-zA-Z0-9_]{1,30}$")

# Fields each type cannot do without, and the longest strings LINE accepts.
_REQUIRED = {
    "text": ["text"],
    "textV2": ["text"],
    "image": ["originalContentUrl", "previewImageUrl"],
    "video": ["originalContentUrl", "previewImageUrl"],
    "audio": ["originalContentUrl", "duration"],
    "location": ["title", "address", "latitude", "longitude"],
    "sticker": ["packageId", "stickerId"],
    "imagemap": ["baseUrl", "altText", "baseSize", "actions"],
    "template": ["altText", "template"],
    "flex": ["altText", "contents"],
    "coupon": ["couponId"],
}
_MAX_LENGTH = {
    ("text", "text"): 5000,
    ("textV2", "text"): 5000,
    ("template", "altText"): 400,
    ("flex", "altText"): 1500,
    ("imagemap", "altText"): 1500,
    ("location", "title"): 100,
    ("location", "address"): 100,
}
for _type in ("image", "video", "audio"):
    _MAX_LENGTH[(_type, "originalContentUrl")] = 2000
    _MAX_LENGTH[(_type, "previewImageUrl")] = 2000


def text_length(text: str) -> int:
    """LINE counts UTF-16 code units, so an emoji outside the BMP counts as two."""
    return len(text.encode("utf-16-le")) // 2


def _detail(message: str, prop: str) -> dict[str, str]:
    return {"message": message, "property": prop}


def _message_errors(index: int, message: Any) -> list[dict[str, str]]:
    prefix = f"messages[{index}]"
    if not isinstance(message, dict):
        return [_detail("Must be an object", prefix)]
    kind = message.get("type")
    if not kind:
        return [_detail("May not be empty", f"{prefix}.type")]
    if kind not in MESSAGE_TYPES:
        return [_detail(f"Must be one of the following values: [{', '.join(MESSAGE_TYPES)}]", f"{prefix}.type")]
    errors = []
    for name in _REQUIRED[kind]:
        value = message.get(name)
        if value is None or value == "" or value == [] or value == {}:
            errors.append(_detail("May not be empty", f"{prefix}.{name}"))
            continue
        limit = _MAX_LENGTH.get((kind, name))
        if limit is not None and isinstance(value, str) and text_length(value) > limit:
            errors.append(_detail(f"Length must be between 0 and {limit}", f"{prefix}.{name}"))
    if kind == "location":
        for name in ("latitude", "longitude"):
            value = message.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                errors.append(_detail("Must be a number", f"{prefix}.{name}"))
    items = (message.get("quickReply") or {}).get("items") if isinstance(message.get("quickReply"), dict) else None
    if items is not None and not (isinstance(items, list) and 1 <= len(items) <= 13):
        errors.append(_detail("Size must be between 1 and 13", f"{prefix}.quickReply.items"))
    sender = message.get("sender")
    if isinstance(sender, dict) and sender.get("name") is not None and not 1 <= len(str(sender["name"])) <= 20:
        errors.append(_detail("Length must be between 1 and 20", f"{prefix}.sender.name"))
    return errors


def message_errors(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return [_detail("Size must be between 1 and 5", "messages")]
    errors = []
    for index, message in enumerate(messages):
        errors.extend(_message_errors(index, message))
    return errors


def common_errors(body: dict[str, Any]) -> list[dict[str, str]]:
    """Fields push, multicast and reply share besides `messages`."""
    errors = message_errors(body.get("messages"))
    disabled = body.get("notificationDisabled")
    if disabled is not None and not isinstance(disabled, bool):
        errors.append(_detail("Must be a boolean", "notificationDisabled"))
    units = body.get("customAggregationUnits")
    if units is not None:
        if not isinstance(units, list) or len(units) > 1:
            errors.append(_detail("Size must be between 0 and 1", "customAggregationUnits"))
        elif units and not (isinstance(units[0], str) and AGGREGATION_UNIT_PATTERN.match(units[0])):
            errors.append(_detail("Invalid unit name", "customAggregationUnits[0]"))
    return errors


def validation_error(errors: list[dict[str, str]]) -> HttpResponse:
    return line_error(400, f"The request body has {len(errors)} error(s)", errors)


def invalid_property(name: str) -> HttpResponse:
    """The 400 LINE gives for a `to` that is not an id: no details, a position of `-`."""
    return line_error(400, f"The property, {name}, in the request body is invalid (line: -, column: -)")
