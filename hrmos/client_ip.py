from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The visitor's address, for login throttling (django-axes).

    Behind `TRUSTED_PROXY_COUNT` proxies that each append the address they received from to
    X-Forwarded-For, the client is that many entries from the right; entries further left are
    whatever the client sent and cannot be trusted. Without proxies it is REMOTE_ADDR.
    """
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")
