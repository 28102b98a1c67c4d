"""The recruiter navigation bar, filled by each app in its AppConfig.ready().

Lower floors cannot import higher ones, so the base layout asks this registry instead of
naming every app's screens: `register(NavItem(...))`, optionally with a badge callable
(e.g. the unread LINE replies count) that receives the request, and the URL that answers the
badge alone so the page can poll it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str  # a bootstrap-icons name, e.g. "people"
    order: int = 100
    badge: Callable[[HttpRequest], int] | None = None
    # A URL answering the badge alone (templates/_nav_badge.html), polled so the count
    # follows new replies without a reload.
    badge_url_name: str = ""
    # URL prefixes that mark the item active; defaults to its own URL.
    active_prefix: str = ""


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _items[item.url_name] = item


def items_for(request: HttpRequest) -> list[dict]:
    entries = []
    for item in sorted(_items.values(), key=lambda i: i.order):
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        prefix = item.active_prefix or url
        entries.append(
            {
                "label": item.label,
                "url": url,
                "icon": item.icon,
                "active": request.path.startswith(prefix),
                "badge": item.badge(request) if item.badge else 0,
                "badge_url": reverse(item.badge_url_name) if item.badge_url_name else "",
            }
        )
    return entries
