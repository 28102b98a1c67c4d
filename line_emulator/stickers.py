"""LINE's sticker CDN (`stickershop.line-scdn.net`), for pictures of stickers candidates send.

`GET /stickershop/v1/sticker/{stickerId}/android/sticker.png` answers a small PNG drawn here: a
face on a disc whose colour follows the sticker id, so different stickers look different and the
demo works with no internet. Any all-digit id has a picture; anything else is a 404, like the CDN.
"""

import hashlib
import struct
import zlib

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

SIZE = 120
PALETTE = [(6, 199, 85), (255, 153, 0), (66, 133, 244), (234, 67, 53), (171, 71, 188), (0, 172, 193)]
INK = (255, 255, 255)


@require_GET
def sticker_image(request: HttpRequest, sticker_id: str) -> HttpResponse:
    if not sticker_id.isdigit() or len(sticker_id) > 20:
        raise Http404
    response = HttpResponse(png(sticker_id), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def png(sticker_id: str) -> bytes:
    colour = PALETTE[hashlib.sha256(sticker_id.encode()).digest()[0] % len(PALETTE)]
    rows = b"".join(b"\x00" + b"".join(bytes(_pixel(x, y, colour)) for x in range(SIZE)) for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    chunks = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def _pixel(x: int, y: int, colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    centre, radius = SIZE / 2, SIZE / 2 - 4
    dx, dy = x - centre + 0.5, y - centre + 0.5
    if dx * dx + dy * dy > radius * radius:
        return (0, 0, 0, 0)  # transparent outside the disc
    for eye_x in (-18, 18):
        if (dx - eye_x) ** 2 + (dy + 12) ** 2 <= 8 * 8:
            return (*INK, 255)
    mouth = dx * dx + (dy - 4) ** 2
    if 26 * 26 <= mouth <= 32 * 32 and dy > 12:
        return (*INK, 255)
    return (*colour, 255)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
