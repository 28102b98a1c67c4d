"""line.me's add-friend page, `GET /R/ti/p/{basicId}` (`@` percent-encoded or raw): the link an app
shows to let someone add its Official Account.

On LINE the link opens the LINE app. Here it is a page: the OA, who is adding it (the persona this
browser logged in as through LINE Login, or one picked here) and a 「友だち追加」 button that follows
the OA with the same action as the control API's `follow` (a follow webhook, `isUnblocked` after a
block). Plain forms with stable field names (`persona_id`, `action`) and `data-step="web-add-friend"`.
"""

from urllib.parse import quote, urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods

from line_emulator import actions, runtime
from line_emulator.login_pages import remember_login, sso_persona
from line_emulator.models import Channel, Friendship, Persona

ADDED, UNBLOCKED, ALREADY = "added", "unblocked", "already"


def add_friend_path(basic_id: str) -> str:
    """The path of an OA's add-friend page, as LINE writes the link (`@` as `%40`)."""
    return f"/R/ti/p/{quote(basic_id, safe='')}"


def _oa(basic_id: str) -> Channel | None:
    if not basic_id.startswith("@") or len(basic_id) < 2:
        return None
    return Channel.objects.filter(kind=Channel.MESSAGING, basic_id__iexact=basic_id).first()


def _not_found(request: HttpRequest, basic_id: str) -> HttpResponse:
    return render(request, "line_emulator/web/not_found.html", {"basic_id": basic_id}, status=404)


def _page(
    request: HttpRequest, oa: Channel, *, persona: Persona | None, error: str = "", status: int = 200
) -> HttpResponse:
    """With `persona` (this browser's login): that persona's button. Without: a persona picker."""
    context = {
        "oa": oa,
        "page_path": add_friend_path(oa.basic_id),
        "persona": persona,
        "state": actions.friend_state(oa, persona) if persona else "",
        "error": error,
    }
    if persona is None:
        states = dict(Friendship.objects.filter(channel=oa).values_list("persona_id", "state"))
        context["personas"] = [
            (choice, states.get(choice.persona_id, "none"))
            for choice in Persona.objects.order_by("created_at", "persona_id")
        ]
        context["selected"] = request.POST.get("persona_id", "")
    return render(request, "line_emulator/web/add_friend.html", context, status=status)


@require_http_methods(["GET", "POST"])
@csrf_protect
@ensure_csrf_cookie
def add_friend(request: HttpRequest, basic_id: str) -> HttpResponse:
    oa = _oa(basic_id)
    if oa is None:
        return _not_found(request, basic_id)
    logged_in, _ = sso_persona(request)
    if request.method == "GET":
        return _page(request, oa, persona=None if request.GET.get("switch") else logged_in)
    persona = Persona.objects.filter(persona_id=request.POST.get("persona_id", "")).first()
    if persona is None:
        return _page(request, oa, persona=None, error="友だち追加するアカウントを選んでください。", status=400)
    was = actions.friend_state(oa, persona)
    event = actions.follow(oa, persona) if was != Friendship.FOLLOWING else None
    result = ALREADY if event is None else UNBLOCKED if was == Friendship.BLOCKED else ADDED
    done = f"{add_friend_path(oa.basic_id)}/done?{urlencode({'persona': persona.persona_id, 'result': result})}"
    response = HttpResponseRedirect(done)
    if logged_in is None or logged_in.pk != persona.pk:
        remember_login(response, persona, runtime.now())  # picking an account logs this browser in as it
    return response


@require_GET
def added(request: HttpRequest, basic_id: str) -> HttpResponse:
    """After 友だち追加: the friendship as it stands, and the way to the persona's phone."""
    oa = _oa(basic_id)
    if oa is None:
        return _not_found(request, basic_id)
    persona = Persona.objects.filter(persona_id=request.GET.get("persona", "")).first()
    if persona is None:
        raise Http404
    if actions.friend_state(oa, persona) != Friendship.FOLLOWING:
        return HttpResponseRedirect(add_friend_path(oa.basic_id))
    result = request.GET.get("result")
    context = {"oa": oa, "persona": persona, "result": result if result in (ADDED, UNBLOCKED) else ALREADY}
    return render(request, "line_emulator/web/added.html", context)
