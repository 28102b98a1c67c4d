"""LINE Login v2.1 in the browser (access.line.me): authorize → login → consent → add friend → callback.

The pages need no JavaScript: plain forms with stable field names (`session`, `persona_id`,
`display_name`, `amr`, `add_friend`, `action`), so a test can drive them with `requests`.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods

from line_emulator import actions, ids, runtime
from line_emulator.models import AuthCode, Channel, Consent, Friendship, LoginSession, Persona
from line_emulator.store import writing
from line_emulator.webhooks import dispatcher

INVALID_REDIRECT = "Invalid redirect_uri value. Check if it is registered in a LINE developers site."
DEVELOPING = "This channel is now developing status. User need to have developer role."
ACCESS_DENIED = "The resource owner denied the request."
SCOPES = ("profile", "openid", "email")
SCOPE_LABELS = {
    "profile": ("プロフィール情報", "メインプロフィール情報（表示名、プロフィール画像、ステータスメッセージ）"),
    "openid": ("ユーザー識別子", "あなたを識別するためのID（内部識別子）"),
    "email": ("メールアドレス", "LINEに登録されているメールアドレス"),
}
AMR_CHOICES = [
    ("pwd", "メールアドレスとパスワード"),
    ("lineqr", "QRコードログイン"),
    ("lineautologin", "自動ログイン"),
    ("linesso", "シングルサインオン"),
]
PROMPTS = {"", "consent", "none", "login"}
SSO_COOKIE = "line_emulator_sso"
SESSION_TTL = timedelta(minutes=30)


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "line_emulator/login/bad_request.html", {"message": message}, status=400)


def redirect_registered(registered: list[str], redirect_uri: str) -> bool:
    """Scheme, host, port and path must equal a registered URL; extra query parameters are allowed."""
    wanted = urlsplit(redirect_uri)
    if not wanted.scheme or not wanted.netloc:
        return False
    wanted_query = set(parse_qsl(wanted.query, keep_blank_values=True))
    for url in registered:
        candidate = urlsplit(url)
        same_place = (candidate.scheme, candidate.netloc.lower(), candidate.path or "/") == (
            wanted.scheme,
            wanted.netloc.lower(),
            wanted.path or "/",
        )
        if same_place and set(parse_qsl(candidate.query, keep_blank_values=True)) <= wanted_query:
            return True
    return False


def with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def _error_redirect(redirect_uri: str, error: str, description: str, state: str) -> HttpResponseRedirect:
    params = {"error": error, "error_description": description}
    if state:
        params["state"] = state
    return HttpResponseRedirect(with_query(redirect_uri, params))


def _request_error(params: dict[str, str]) -> tuple[str, str] | None:
    """The first problem with an authorize request that LINE reports by redirecting back."""
    if not params.get("response_type"):
        return "INVALID_REQUEST", "response_type is required"
    if params["response_type"] != "code":
        return "UNSUPPORTED_RESPONSE_TYPE", "Unsupported response_type"
    if not params.get("state"):
        return "INVALID_REQUEST", "state is required"
    if not params.get("scope"):
        return "INVALID_REQUEST", "scope is required"
    scopes = params["scope"].split()
    if any(scope not in SCOPES for scope in scopes) or not {"profile", "openid"} & set(scopes):
        return "INVALID_SCOPE", "The requested scope is invalid"
    if "email" in scopes and "openid" not in scopes:
        return "INVALID_SCOPE", "The email scope needs the openid scope"
    challenge, method = params.get("code_challenge", ""), params.get("code_challenge_method", "")
    if (challenge or method) and (method != "S256" or not 43 <= len(challenge) <= 128):
        return "INVALID_REQUEST", "code_challenge_method must be S256 with a code_challenge"
    if params.get("response_mode", "query") != "query":
        return "INVALID_REQUEST", "Only response_mode=query is supported"
    if params.get("prompt", "") not in PROMPTS:
        return "INVALID_REQUEST", "Invalid prompt"
    if params.get("max_age") and not params["max_age"].isdigit():
        return "INVALID_REQUEST", "Invalid max_age"
    return None


def sso_persona(request: HttpRequest) -> tuple[Persona | None, float]:
    """The persona logged in to this browser (LINE's SSO cookie), and when they logged in (epoch seconds)."""
    try:
        data = signing.loads(request.COOKIES.get(SSO_COOKIE, ""), salt="line_emulator.sso")
    except signing.BadSignature:
        return None, 0.0
    return Persona.objects.filter(persona_id=data.get("p")).first(), float(data.get("t", 0))


@require_GET
def authorize(request: HttpRequest) -> HttpResponse:
    params = {key: request.GET.get(key, "") for key in request.GET}
    channel = Channel.objects.filter(channel_id=params.get("client_id", ""), kind=Channel.LOGIN).first()
    redirect_uri = params.get("redirect_uri", "")
    # LINE cannot redirect to an unverified URL, so these two are its own error page.
    if channel is None or not redirect_registered(channel.callback_urls, redirect_uri):
        return _bad_request(request, INVALID_REDIRECT)
    state = params.get("state", "")
    if runtime.take_fault("GET /oauth2/v2.1/authorize", channel.channel_id):
        return _error_redirect(redirect_uri, "SERVER_ERROR", "An internal server error occurred", state)
    problem = _request_error(params)
    if problem:
        return _error_redirect(redirect_uri, *problem, state)
    with writing():
        session = LoginSession.objects.create(
            key=ids.opaque(24), channel=channel, params=params, created_at=runtime.now()
        )
    if params.get("prompt") == "none":
        persona, logged_in_at = sso_persona(request)
        max_age = params.get("max_age")
        if persona is None or (max_age and runtime.now().timestamp() - logged_in_at > int(max_age)):
            return _error_redirect(redirect_uri, "LOGIN_REQUIRED", "The user is not logged in", state)
        session.persona, session.amr = persona, "linesso"
        session.authenticated_at = datetime.fromtimestamp(logged_in_at, tz=UTC)
        with writing():
            session.save(update_fields=["persona", "amr", "authenticated_at"])
        return _after_login(request, session)
    return HttpResponseRedirect(f"/oauth2/v2.1/login?{urlencode({'session': session.key})}")


def _session(request: HttpRequest) -> LoginSession | None:
    key = request.POST.get("session") or request.GET.get("session") or ""
    session = LoginSession.objects.select_related("channel", "persona").filter(key=key, finished=False).first()
    if session is None or runtime.now() - session.created_at > SESSION_TTL:
        return None
    return session


def _expired(request: HttpRequest) -> HttpResponse:
    return _bad_request(request, "The login session has expired. Start again from the service you came from.")


def _deny(session: LoginSession) -> HttpResponseRedirect:
    with writing():
        LoginSession.objects.filter(pk=session.pk).update(finished=True)
    return _error_redirect(session.params["redirect_uri"], "ACCESS_DENIED", ACCESS_DENIED, session.params["state"])


@require_http_methods(["GET", "POST"])
@csrf_protect
@ensure_csrf_cookie
def login(request: HttpRequest) -> HttpResponse:
    session = _session(request)
    if session is None:
        return _expired(request)
    if request.method == "GET":
        return _login_page(request, session)
    if request.POST.get("action") == "cancel":
        return _deny(session)
    error = ""
    try:
        persona = _chosen_persona(request.POST)
    except actions.ActionError as problem:
        persona, error = None, str(problem)
    if persona is None:
        return _login_page(request, session, error or "ログインするアカウントを選んでください。", status=400)
    amr = request.POST.get("amr") or "pwd"
    session.persona, session.amr = persona, amr if amr in dict(AMR_CHOICES) else "pwd"
    session.authenticated_at = runtime.now()
    with writing():
        session.save(update_fields=["persona", "amr", "authenticated_at"])
    response = _after_login(request, session)
    remember_login(response, persona, session.authenticated_at)
    return response


def remember_login(response: HttpResponse, persona: Persona, at: datetime) -> None:
    """Log this browser in as `persona` (LINE's SSO cookie), for prompt=none and the line.me pages."""
    cookie = signing.dumps({"p": persona.persona_id, "t": at.timestamp()}, salt="line_emulator.sso")
    response.set_cookie(SSO_COOKIE, cookie, httponly=True, samesite="Lax")


def _chosen_persona(form: Any) -> Persona | None:
    if form.get("display_name", "").strip():
        return actions.create_persona(form["display_name"])
    return Persona.objects.filter(persona_id=form.get("persona_id", "")).first()


def _login_page(request: HttpRequest, session: LoginSession, error: str = "", status: int = 200) -> HttpResponse:
    sso, _ = sso_persona(request)
    context = {
        "session": session,
        "channel": session.channel,
        "personas": Persona.objects.order_by("created_at", "persona_id"),
        "selected": request.POST.get("persona_id") or (sso.persona_id if sso else ""),
        "sso": sso,
        "amr_choices": AMR_CHOICES,
        "error": error,
    }
    return render(request, "line_emulator/login/login.html", context, status=status)


def _scopes(session: LoginSession) -> list[str]:
    return session.params["scope"].split()


def _persona_of(session: LoginSession) -> Persona:
    """The persona who logged in: every step after the login form has one."""
    if session.persona is None:
        raise Http404("no one has logged in in this login session")
    return session.persona


def _after_login(request: HttpRequest, session: LoginSession) -> HttpResponse:
    channel, persona = session.channel, _persona_of(session)
    if channel.status != Channel.PUBLISHED and not channel.role_personas.filter(pk=persona.pk).exists():
        return _bad_request(request, DEVELOPING)
    consent = Consent.objects.filter(channel=channel, persona=persona).first()
    prompt = session.params.get("prompt", "")
    if prompt == "consent" or consent is None or not set(_scopes(session)) <= set(consent.scopes):
        if prompt == "none":
            redirect_uri, state = session.params["redirect_uri"], session.params["state"]
            return _error_redirect(redirect_uri, "INTERACTION_REQUIRED", "Consent is required", state)
        return HttpResponseRedirect(f"/oauth2/v2.1/authorize/consent?{urlencode({'session': session.key})}")
    # Consent skipped: no add-friend option, so no friendship_status_changed (as on LINE).
    return _finish(session)


def _friend_option(session: LoginSession, bot_prompt: str) -> Channel | None:
    """The linked OA, when this bot_prompt should offer to add it (the persona is not a friend yet)."""
    oa = session.channel.linked_oa
    if oa is None or session.params.get("bot_prompt") != bot_prompt:
        return None
    return None if actions.friend_state(oa, _persona_of(session)) == Friendship.FOLLOWING else oa


@require_http_methods(["GET", "POST"])
@csrf_protect
@ensure_csrf_cookie
def consent(request: HttpRequest) -> HttpResponse:
    session = _session(request)
    if session is None or session.persona is None:
        return _expired(request)
    normal_oa = _friend_option(session, "normal")
    if request.method == "GET":
        context = {
            "session": session,
            "channel": session.channel,
            "provider": session.channel.provider,
            "persona": session.persona,
            "scopes": [SCOPE_LABELS[scope] for scope in _scopes(session)],
            "oa": normal_oa,
        }
        return render(request, "line_emulator/login/consent.html", context)
    if request.POST.get("action") != "allow":
        return _deny(session)
    with writing():
        Consent.objects.update_or_create(
            channel=session.channel,
            persona=session.persona,
            defaults={"scopes": _scopes(session), "granted_at": runtime.now()},
        )
    if normal_oa is not None:
        session.friend_option_shown = True
        session.add_friend = request.POST.get("add_friend") in ("on", "true", "1")
        return _finish(session)
    if _friend_option(session, "aggressive") is not None:
        return HttpResponseRedirect(f"/oauth2/v2.1/authorize/add-friend?{urlencode({'session': session.key})}")
    return _finish(session)


@require_http_methods(["GET", "POST"])
@csrf_protect
@ensure_csrf_cookie
def add_friend(request: HttpRequest) -> HttpResponse:
    session = _session(request)
    oa = _friend_option(session, "aggressive") if session and session.persona else None
    if session is None or oa is None:
        return _expired(request)
    if request.method == "GET":
        context = {"session": session, "channel": session.channel, "oa": oa, "persona": session.persona}
        return render(request, "line_emulator/login/add_friend.html", context)
    session.friend_option_shown = True
    session.add_friend = request.POST.get("action") == "add"
    return _finish(session)


def _finish(session: LoginSession) -> HttpResponseRedirect:
    """Issue the code and go back to the app, sending the follow webhook before, with or after it."""
    params = session.params
    max_age = params.get("max_age")
    with writing():
        code = AuthCode.objects.create(
            code=ids.opaque(24),
            channel=session.channel,
            persona=_persona_of(session),
            redirect_uri=params["redirect_uri"],
            scopes=params["scope"].split(),
            nonce=params.get("nonce", ""),
            code_challenge=params.get("code_challenge", ""),
            amr=session.amr,
            auth_time=session.authenticated_at if max_age else None,
            created_at=runtime.now(),
        )
        LoginSession.objects.filter(pk=session.pk).update(finished=True)
    query = {"code": code.code, "state": params["state"]}
    if session.friend_option_shown:
        query["friendship_status_changed"] = "true" if session.add_friend else "false"
    response = HttpResponseRedirect(with_query(params["redirect_uri"], query))
    oa = session.channel.linked_oa
    if session.add_friend and oa is not None:
        delay_ms = int(runtime.setting("follow_webhook_delay_ms"))
        event = actions.follow(oa, _persona_of(session), delay_ms=max(delay_ms, 0))
        if event is not None and delay_ms < 0:
            # The app should see the follow webhook first: wait for its delivery, then a bit more.
            dispatcher.wait_processed([event.event_id], timeout=runtime.setting("webhook_timeout_ms") / 1000 + 1)
            time.sleep(-delay_ms / 1000)
    return response
