"""Text from outside made storable, in one place.

PostgreSQL's text and jsonb columns cannot hold the NUL character, and UTF-8 cannot encode a
lone surrogate (what Python leaves for undecodable bytes of an email header, or a JSON
"\\ud800"). `storable` cleans such text before it reaches a query: NUL is taken out (nobody
types it; it is debris of a broken encoder), a lone surrogate becomes U+FFFD (something was
there). The doors that use it: `StorableInputMiddleware` for query parameters, uploaded file
names and types, cookies and the path; the inbound-email parser; the CSV import; the LINE
webhook's stored events. Form fields posted by a person are not changed behind their back:
Django's form fields refuse NUL with a message (ProhibitNullCharactersValidator), and the
custom-form answer page takes it out and says so.
"""

import os
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, cast

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.utils.datastructures import MultiValueDict

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"
FALLBACK_CONTENT_TYPE = "application/octet-stream"
CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def storable(text: str, *, nul: str = "") -> str:
    """`text` without NUL characters (or with `nul` in their place) and with lone surrogates
    replaced by U+FFFD."""
    if not UNSTORABLE.search(text):
        return text
    return UNSTORABLE.sub(lambda match: nul if match.group() == "\x00" else REPLACEMENT, text)


def is_storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None


def storable_json(value: Any, *, nul: str = "") -> tuple[Any, bool]:
    """`value` (decoded JSON) with every string, keys too, made storable; and whether any changed."""
    if isinstance(value, str):
        clean = storable(value, nul=nul)
        return clean, clean != value
    if isinstance(value, list):
        items = [storable_json(item, nul=nul) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    if isinstance(value, dict):
        result, changed = {}, False
        for key, item in value.items():
            clean_key, key_changed = storable_json(key, nul=nul)
            result[clean_key], item_changed = storable_json(item, nul=nul)
            changed = changed or key_changed or item_changed
        return result, changed
    return value, False


def file_name(name: str, limit: int = 255) -> str:
    """A storable file name of at most `limit` characters that keeps its extension."""
    name = storable(name).strip() or "file"
    if len(name) <= limit:
        return name
    stem, extension = os.path.splitext(name)
    extension = extension[: min(len(extension), 20)]
    return stem[: limit - len(extension)] + extension


def disk_name(name: str, max_bytes: int = 120) -> str:
    """The last part of a stored file's path: the name's own last part, shortened to fit a
    file system's limit (255 bytes, less room for Django's "_abc1234" on a clash) with its
    extension kept. The full name is kept in the database for downloads."""
    name = file_name(PurePath(name.replace("\\", "/")).name)
    if len(name.encode()) <= max_bytes:
        return name
    stem, extension = os.path.splitext(name)
    extension = extension if len(extension.encode()) <= 20 else ""
    room = max_bytes - len(extension.encode())
    return stem.encode()[:room].decode("utf-8", errors="ignore") + extension


def content_type(value: str, limit: int = 100) -> str:
    """The bare media type ("image/png") of a Content-Type header, or application/octet-stream
    when it is not one or would not fit the column."""
    bare = storable(value).split(";")[0].strip().lower()
    if not bare:
        return ""
    return bare if len(bare) <= limit and CONTENT_TYPE.match(bare) else FALLBACK_CONTENT_TYPE


def _clean_query(data: QueryDict) -> "_ImmutableQueryDict":
    cleaned = QueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        cleaned.setlist(storable(key), [storable(value) for value in values])
    cleaned._mutable = False
    return cast("_ImmutableQueryDict", cleaned)


def query_dict(query_string: str) -> QueryDict:
    """A query string carried inside a parameter (the list's filter behind 「検索結果のすべて」),
    parsed and made storable like the request's own."""
    data = QueryDict(query_string)
    return _clean_query(data) if _needs_cleaning(data) else data


def _needs_cleaning(data: QueryDict) -> bool:
    return any(not is_storable(key) or not all(map(is_storable, values)) for key, values in data.lists())


class StorableInputMiddleware:
    """Query parameters, uploaded files' names and types, and cookies are made storable before
    any view sees them, so no view has to think about them. A path holding NUL names nothing:
    404. Posted form fields are left to the forms (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_storable(request.path_info):
            raise Http404
        if _needs_cleaning(request.GET):
            request.GET = _clean_query(request.GET)
        if any(not is_storable(key) or not is_storable(value) for key, value in request.COOKIES.items()):
            request.COOKIES = {storable(key): storable(value) for key, value in request.COOKIES.items()}
        if request.method == "POST" and request.content_type == "multipart/form-data":
            self._clean_files(request)
        return self.get_response(request)

    @staticmethod
    def _clean_files(request: HttpRequest) -> None:
        files: MultiValueDict = request.FILES
        for upload in (upload for uploads in files.lists() for upload in uploads[1]):
            if upload.name is not None and not is_storable(upload.name):
                upload.name = file_name(upload.name)
            if upload.content_type:
                upload.content_type = content_type(upload.content_type) or FALLBACK_CONTENT_TYPE
