"""The app's own email addresses: where candidates' replies go (reply+<企業ID>@…) and the
domain of outgoing Message-IDs. Outgoing mail (outbox) and inbound mail (receiving) share them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings

from hrmos.models import Company

REPLY_ADDRESS = re.compile(r"^reply\+(?P<public_id>[a-z0-9]{4,32})@(?P<domain>[^@\s]+)$", re.IGNORECASE)


def reply_address(company: Company) -> str:
    """Where a company's candidates reply by email (for Reply-To on outgoing mail)."""
    return f"reply+{company.public_id}@{settings.INBOUND_EMAIL_DOMAIN}"


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"
