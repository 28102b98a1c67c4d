from django.http import HttpRequest

from hrmos import navigation as nav


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.company_id is None:
        return {"nav_items": []}
    return {"nav_items": nav.items_for(request), "company": user.company}
