"""Tenant isolation as a sweep over the whole URLconf, so new views are covered automatically.

- Every URL with an object id in its path, requested by a recruiter of ANOTHER company with
  the id of company A's object, answers 404 (GET and POST; 405 is accepted where the view
  refuses the method before any lookup, but at least one method must reach the lookup).
- Every URL except the public ones below sends an anonymous visitor to the login page.
- Every model of our apps has a `company` foreign key, except the allow-list below.

Adding a view whose path takes a new parameter name? Add a factory to OBJECT_FACTORIES that
creates company A's object and returns the value for the path. Adding a public view (LINE
webhook, callback, friend registration page)? Add its URL name to PUBLIC_URL_NAMES.
"""

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from candidates.models import Agent, Candidate, ImportBatch
from hrmos.models import Company, User
from tests.conftest import make_candidate, make_recruiter

pytestmark = pytest.mark.django_db

T = TypeVar("T")

# URL names anyone may open without logging in. Other apps add theirs here.
PUBLIC_URL_NAMES: set[str] = {
    "login",
    "healthz",
    # LINE: candidates' friend registration pages and the platform's callbacks (no login).
    "line:friend",
    "line:friend_result",
    "line:friend_retry",
    "line:callback",
    "line:webhook",
    "line:webhook_no_slash",
    # The mail provider's inbound-email hook (authenticated by its own secret, not a login).
    "messaging:inbound_email",
    # Custom forms: the candidate's answer pages, reached with a personal token.
    "customforms_public:answer",
    "customforms_public:done",
    # Events: the candidate's personal application page and the event's public page.
    "events_public:personal",
    "events_public:public",
    "events_public:public_done",
    # Selection: the candidate's scheduling page, reached with a personal token.
    "selection_public:book",
}

# Namespaces with their own access rules: the admin is staff-only with its own login page
# (checked separately below), never reachable by a recruiter account.
SEPARATELY_GUARDED_NAMESPACES: set[str] = {"admin"}

# Models that are not owned by one company, each with the reason.
MODELS_WITHOUT_COMPANY: set[str] = {
    "hrmos.Company",  # the tenant itself
    "messaging.RateBucket",  # the rate limiter's counters, keyed by channel; no tenant data
}


@dataclass
class Objects:
    """Company A's objects, created on demand and shared between the parameters of one URL."""

    company: Company
    cache: dict

    def get(self, key: str, create: Callable[[], T]) -> T:
        if key not in self.cache:
            self.cache[key] = create()
        return self.cache[key]

    def candidate(self) -> Candidate:
        return self.get("candidate", lambda: make_candidate(self.company, email="tenant-a@example.com"))


def _send(objs: Objects):
    from messaging.models import Send

    return objs.get("send", lambda: Send.objects.create(company=objs.company, subject="件名", body="本文"))


def _message(objs: Objects):
    from messaging.models import Message

    return objs.get(
        "message",
        lambda: Message.objects.create(
            company=objs.company,
            candidate=objs.candidate(),
            channel="email",
            direction="in",
            subject="質問",
            body="本文",
            occurred_at=timezone.now(),
        ),
    )


def _send_attachment(objs: Objects):
    from messaging.models import SendAttachment

    return objs.get(
        "send_attachment",
        lambda: SendAttachment.objects.create(
            company=objs.company, send=_send(objs), file=ContentFile(b"x", name="a.txt"), name="a.txt"
        ),
    )


def _message_attachment(objs: Objects):
    from messaging.models import MessageAttachment

    return objs.get(
        "message_attachment",
        lambda: MessageAttachment.objects.create(
            company=objs.company, message=_message(objs), file=ContentFile(b"x", name="a.txt"), name="a.txt"
        ),
    )


def _form(objs: Objects):
    from customforms.models import Form

    return objs.get("form", lambda: Form.objects.create(company=objs.company, name="エントリーシート"))


def _form_field(objs: Objects):
    from customforms.models import FormField

    return objs.get(
        "form_field",
        lambda: FormField.objects.create(company=objs.company, form=_form(objs), kind="short_text", label="氏名"),
    )


def _form_answer(objs: Objects):
    from customforms.models import FormAnswer, FormResponse

    def create() -> FormAnswer:
        now = timezone.now()
        response = FormResponse.objects.create(
            company=objs.company, form=_form(objs), candidate=objs.candidate(), submitted_at=now, updated_at=now
        )
        return FormAnswer.objects.create(
            company=objs.company,
            response=response,
            field=_form_field(objs),
            label="履歴書",
            kind="file",
            value="a.pdf",
            file=ContentFile(b"%PDF-1.4", name="a.pdf"),
        )

    return objs.get("form_answer", create)


def _message_template(objs: Objects):
    from messaging.models import MessageTemplate

    return objs.get(
        "message_template",
        lambda: MessageTemplate.objects.create(
            company=objs.company, name="一次面接のご案内", subject="件名", body="本文"
        ),
    )


def _stage(objs: Objects):
    from candidates.models import Stage

    return objs.get("stage", lambda: Stage.objects.filter(company=objs.company, kind="open").order_by("position")[0])


def _selection_result(objs: Objects):
    from results.models import SelectionResult

    return objs.get(
        "selection_result",
        lambda: SelectionResult.objects.create(
            company=objs.company,
            candidate=objs.candidate(),
            stage=_stage(objs),
            outcome="passed",
            recorded_at=timezone.now(),
        ),
    )


def _schedule(objs: Objects):
    from selection.models import Schedule

    return objs.get("schedule", lambda: Schedule.objects.create(company=objs.company, name="一次面接"))


def _slot(objs: Objects):
    from datetime import timedelta

    from selection.models import Slot

    start = timezone.now() + timedelta(days=3)
    return objs.get(
        "slot",
        lambda: Slot.objects.create(
            company=objs.company, schedule=_schedule(objs), start_at=start, end_at=start + timedelta(hours=1)
        ),
    )


def _event(objs: Objects):
    from tests.events_support import make_event

    return objs.get("event", lambda: make_event(objs.company))


def _event_date(objs: Objects):
    return objs.get("event_date", lambda: _event(objs).dates.first())


def _interview(objs: Objects):
    from datetime import timedelta

    from selection.models import Interview

    start = timezone.now() + timedelta(days=3)
    return objs.get(
        "interview",
        lambda: Interview.objects.create(
            company=objs.company, candidate=objs.candidate(), start_at=start, end_at=start + timedelta(hours=1)
        ),
    )


def _scheduling_request(objs: Objects):
    from selection.models import SchedulingRequest

    return objs.get(
        "scheduling_request",
        lambda: SchedulingRequest.objects.create(
            company=objs.company, schedule=_schedule(objs), candidate=objs.candidate(), created_at=timezone.now()
        ),
    )


# Path parameter name → a function creating company A's object and returning its path value.
OBJECT_FACTORIES: dict[str, Callable[[Objects], object]] = {
    "message_template_pk": lambda objs: _message_template(objs).pk,
    "send_pk": lambda objs: _send(objs).pk,
    "message_pk": lambda objs: _message(objs).pk,
    "attachment_pk": lambda objs: _send_attachment(objs).pk,
    "message_attachment_pk": lambda objs: _message_attachment(objs).pk,
    "candidate_pk": lambda objs: objs.candidate().pk,
    "form_pk": lambda objs: _form(objs).pk,
    "form_field_pk": lambda objs: _form_field(objs).pk,
    "form_answer_pk": lambda objs: _form_answer(objs).pk,
    "stage_pk": lambda objs: _stage(objs).pk,
    "selection_result_pk": lambda objs: _selection_result(objs).pk,
    "event_pk": lambda objs: _event(objs).pk,
    "event_date_pk": lambda objs: _event_date(objs).pk,
    "schedule_pk": lambda objs: _schedule(objs).pk,
    "slot_pk": lambda objs: _slot(objs).pk,
    "interview_pk": lambda objs: _interview(objs).pk,
    "scheduling_request_pk": lambda objs: _scheduling_request(objs).pk,
    "agent_pk": lambda objs: (
        objs.get("agent", lambda: Agent.objects.create(company=objs.company, agency_name="A社")).pk
    ),
    "batch_id": lambda objs: (
        objs.get(
            "batch",
            lambda: ImportBatch.objects.create(
                company=objs.company,
                filename="a.csv",
                encoding="UTF-8",
                headers=["氏名"],
                rows=[["山田 花子"]],
                mapping=["full_name"],
            ),
        ).pk
    ),
}


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "candidates:detail"
    namespace: str
    parameters: dict[str, str]  # parameter name → converter class name

    def __str__(self) -> str:
        return self.name


def _converters(pattern: URLPattern | URLResolver) -> dict[str, str]:
    converters = getattr(pattern.pattern, "converters", {}) or {}
    found = {name: type(converter).__name__ for name, converter in converters.items()}
    regex = pattern.pattern.regex
    for name in regex.groupindex:  # re_path patterns
        found.setdefault(name, "str")
    return found


def _walk(patterns, namespace: str = "", parameters: dict | None = None) -> Iterator[Route]:
    for pattern in patterns:
        here = {**(parameters or {}), **_converters(pattern)}
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            if inner in SEPARATELY_GUARDED_NAMESPACES:
                continue
            full = ":".join(part for part in (namespace, inner) if part)
            yield from _walk(pattern.url_patterns, full, here)
        else:
            if not pattern.name:
                raise AssertionError(f"Every URL needs a name so the sweep can reverse it: {pattern.pattern}")
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield Route(name=name, namespace=namespace.split(":")[0], parameters=here)


ALL_ROUTES = sorted({route.name: route for route in _walk(get_resolver().url_patterns)}.values(), key=str)
RECRUITER_ROUTES = ALL_ROUTES
OBJECT_ROUTES = [r for r in RECRUITER_ROUTES if r.parameters and r.name not in PUBLIC_URL_NAMES]
PLAIN_ROUTES = [r for r in RECRUITER_ROUTES if not r.parameters and r.name not in PUBLIC_URL_NAMES]


def _url_for(route: Route, objs: Objects) -> str:
    kwargs = {}
    for parameter in route.parameters:
        if parameter not in OBJECT_FACTORIES:
            pytest.fail(
                f"URL {route.name!r} takes <{parameter}>, which the tenancy sweep does not know. Add a factory "
                f"for it to OBJECT_FACTORIES in tests/test_tenancy_sweep.py (create company A's object, "
                f"return its path value) so another company's recruiter is checked to get 404.",
                pytrace=False,
            )
        kwargs[parameter] = OBJECT_FACTORIES[parameter](objs)
    return reverse(route.name, kwargs=kwargs)


def _dummy_url(route: Route) -> str:
    values = {"IntConverter": 1, "UUIDConverter": uuid.uuid4()}
    return reverse(route.name, kwargs={name: values.get(kind, "x") for name, kind in route.parameters.items()})


def test_the_sweep_sees_the_candidate_urls():
    names = {route.name for route in OBJECT_ROUTES}
    assert {"candidates:detail", "candidates:edit", "candidates:delete", "candidates:import_preview"} <= names


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_another_companys_object_is_404(route, client, company, other_company, recruiter):
    objs = Objects(company=company, cache={})
    url = _url_for(route, objs)

    # Control: the owner reaches the object, so a 404 below is about the company, not the id.
    client.force_login(recruiter)
    owner_status = client.get(url).status_code
    assert owner_status != 404, f"{route.name}: the owning company's recruiter got 404; fix the factory"

    client.force_login(make_recruiter(other_company, "sweep-outsider"))
    statuses = {method: getattr(client, method)(url).status_code for method in ("get", "post")}
    assert set(statuses.values()) <= {404, 405}, f"{route.name} {url}: {statuses}"
    assert 404 in statuses.values(), f"{route.name}: neither GET nor POST reached the object lookup"
    assert Candidate.objects.filter(company=company).count() == (1 if "candidate" in objs.cache else 0)


@pytest.mark.parametrize("route", [r for r in RECRUITER_ROUTES if r.name not in PUBLIC_URL_NAMES], ids=str)
def test_anonymous_visitor_is_sent_to_login(route, client):
    url = _dummy_url(route)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code == 302, f"{method.upper()} {route.name} {url}: {response.status_code}"
        assert response["Location"].startswith(reverse(settings.LOGIN_URL) + "?next="), route.name


@pytest.mark.parametrize("name", sorted(PUBLIC_URL_NAMES))
def test_public_names_exist(name):
    assert name in {route.name for route in ALL_ROUTES}, f"{name} is allow-listed as public but no URL has that name"


def test_admin_sends_anonymous_visitors_to_its_login(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_recruiter_cannot_use_the_admin(client, recruiter):
    client.force_login(recruiter)
    assert client.get(reverse("admin:candidates_candidate_changelist")).status_code == 302


def test_even_a_staff_recruiter_cannot_see_every_company_in_the_admin(client, recruiter):
    """The admin shows all companies' data: it is for operators who belong to no company."""
    recruiter.is_staff = recruiter.is_superuser = True
    recruiter.save()
    client.force_login(recruiter)
    assert client.get(reverse("admin:candidates_candidate_changelist")).status_code == 302


def test_an_operator_without_a_company_uses_the_admin(client, db):
    client.force_login(User.objects.create_superuser("operator", "ops@example.com", "pw-for-ops"))
    assert client.get(reverse("admin:candidates_candidate_changelist")).status_code == 200


@pytest.mark.parametrize("route", PLAIN_ROUTES, ids=str)
def test_pages_never_show_another_companys_candidate(route, client, company, other_company):
    make_candidate(company, email="secret-a@example.com", last_name="越境", first_name="禁止")
    client.force_login(make_recruiter(other_company, "sweep-outsider"))
    response = client.get(reverse(route.name))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", errors="replace")
    assert "secret-a@example.com" not in text and "越境" not in text, route.name


def test_every_model_of_our_apps_has_a_company_fk():
    ours = [config for config in apps.get_app_configs() if config.path.startswith(str(settings.BASE_DIR))]
    ours = [config for config in ours if "/.venv/" not in config.path and "site-packages" not in config.path]
    assert {"hrmos", "candidates"} <= {config.label for config in ours}
    missing = []
    for config in ours:
        for model in config.get_models():
            label = f"{model._meta.app_label}.{model.__name__}"
            if label in MODELS_WITHOUT_COMPANY:
                continue
            field = next((f for f in model._meta.get_fields() if f.name == "company"), None)
            owned = field is not None and (field.many_to_one or field.one_to_one) and field.related_model is Company
            if not owned:
                missing.append(label)
    assert not missing, f"Models without a company FK (add one, or allow-list with a reason): {missing}"
