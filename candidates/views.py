"""Candidate and agent screens. Thin: parse the request, call listing/actions, render."""

from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from candidates import actions, extensions, listing
from candidates.detail import candidate_or_404, detail_context
from candidates.forms import AgentForm, BulkStageForm, CandidateForm
from candidates.models import Agent, Candidate, Stage
from hrmos.http import RecruiterRequest
from hrmos.tenancy import get_scoped_or_404, request_company, scoped

# The sortable columns of the table: (label, ascending key, descending key, first click).
SORTABLE_COLUMNS = {
    "name": ("氏名", "kana", "-kana", "kana"),
    "year": ("卒業年度", "year", "-year", "year"),
    "stage": ("選考ステップ", "stage", "-stage", "stage"),
    "created": ("登録日", "created", "-created", "-created"),
}


def _query_without(params: QueryDict, *names: str) -> str:
    pairs = [(key, value) for key, values in params.lists() if key not in names for value in values if value]
    return urlencode(pairs)


def _prefix(query: str) -> str:
    """A query string ready for one more parameter to be appended."""
    return f"{query}&" if query else ""


def _column_headers(params: QueryDict, current_sort: str) -> dict[str, dict]:
    base = _query_without(params, "sort", "page")
    headers = {}
    for column, (label, ascending, descending, first) in SORTABLE_COLUMNS.items():
        direction = "asc" if current_sort == ascending else "desc" if current_sort == descending else ""
        next_sort = {"asc": descending, "desc": ascending}.get(direction, first)
        query = f"{base}&sort={next_sort}" if base else f"sort={next_sort}"
        headers[column] = {"label": label, "url": f"?{query}", "direction": direction}
    return headers


def _bulk_actions() -> list[dict]:
    entries = []
    for action in extensions.bulk_actions():
        try:
            url = reverse(action.url_name)
        except NoReverseMatch:
            continue
        url = f"{url}?{action.query}" if action.query else url
        entries.append({"label": action.label, "url": url, "icon": action.icon})
    return entries


def candidate_list(request: RecruiterRequest) -> HttpResponse:
    params = listing.parse_params(request.GET)
    company = request_company(request)
    page = listing.paginate(listing.filtered_candidates(request, request.GET), params, request.GET.get("page"))
    filter_query = _query_without(request.GET, "page")
    context = {
        "params": params,
        "page": page,
        "candidates": page.object_list,
        "total": page.paginator.count,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "filter_query": filter_query,
        "page_query_prefix": _prefix(filter_query),
        "per_page_query_prefix": _prefix(_query_without(request.GET, "page", "per_page")),
        "export_query": filter_query,
        "columns": _column_headers(request.GET, params.sort),
        "stages": list(scoped(request, Stage).order_by("position")),
        "years": listing.graduation_year_choices(),
        "no_year": listing.NO_YEAR,
        "agent_choices": listing.AGENT_CHOICES,
        "sort_choices": [(key, label) for key, (label, _) in listing.SORTS.items()],
        "per_page_choices": listing.PER_PAGE_CHOICES,
        "extension_filters": [
            {"key": f.key, "label": f.label, "choices": f.choices(company), "value": params.extra.get(f.key, "")}
            for f in extensions.list_filters()
        ],
        "row_badges": extensions.row_badges(),
        "bulk_actions": _bulk_actions(),
    }
    if not page.object_list:
        context["company_has_candidates"] = params.is_filtered and scoped(request, Candidate).exists()
    if request.htmx and request.htmx.target == "candidate-results":
        response = render(request, "candidates/_results.html", context)
        # The address bar gets the tidy query (no empty fields), so it can be bookmarked.
        response["HX-Push-Url"] = f"{request.path}?{filter_query}" if filter_query else request.path
        return response
    return render(request, "candidates/list.html", context)


def candidate_detail(request: RecruiterRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    return render(request, "candidates/detail.html", detail_context(request, candidate))


@require_http_methods(["GET", "POST"])
def candidate_create(request: RecruiterRequest) -> HttpResponse:
    company = request_company(request)
    form = CandidateForm(request.POST or None, company=company, instance=Candidate(company=company))
    if request.method == "POST" and form.is_valid():
        candidate = actions.save_candidate(form, request.user)
        messages.success(request, f"{candidate.name}さんを登録しました。")
        if "save_and_add" in request.POST:
            return redirect("candidates:create")
        return redirect("candidates:detail", candidate_pk=candidate.pk)
    return render(request, "candidates/form.html", {"form": form, "is_new": True})


@require_http_methods(["GET", "POST"])
def candidate_edit(request: RecruiterRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    form = CandidateForm(request.POST or None, company=request_company(request), instance=candidate)
    if request.method == "POST" and form.is_valid():
        candidate = actions.save_candidate(form, request.user)
        messages.success(request, f"{candidate.name}さんの情報を更新しました。")
        return redirect("candidates:detail", candidate_pk=candidate.pk)
    return render(request, "candidates/form.html", {"form": form, "is_new": False, "candidate": candidate})


@require_http_methods(["GET", "POST"])
def candidate_delete(request: RecruiterRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    if request.method == "POST":
        name = candidate.name
        actions.delete_candidate(candidate, request.user)
        messages.success(request, f"{name}さんを削除しました。")
        return redirect("candidates:list")
    return render(request, "candidates/confirm_delete.html", {"candidate": candidate})


def _back_to_list(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    return redirect(f"{reverse('candidates:list')}?{query}" if query else reverse("candidates:list"))


@require_POST
def bulk_change_stage(request: RecruiterRequest) -> HttpResponse:
    form = BulkStageForm(request.POST, company=request_company(request))
    if not form.is_valid():
        messages.error(request, "変更先の選考ステップを選んでください。")
        return _back_to_list(request)
    selected = listing.selected_candidates(request, request.POST)
    count = actions.change_stage(selected, form.cleaned_data["stage"], request.user)
    if count:
        messages.success(request, f"{count}名の選考ステップを「{form.cleaned_data['stage'].name}」に変更しました。")
    else:
        messages.warning(request, "候補者が選択されていません。")
    return _back_to_list(request)


# ---------------------------------------------------------------------------- agents


def agent_list(request: RecruiterRequest) -> HttpResponse:
    agents = (
        scoped(request, Agent).annotate(candidate_count=Count("candidates")).order_by("agency_name", "contact_name")
    )
    return render(request, "candidates/agent_list.html", {"agents": agents})


@require_http_methods(["GET", "POST"])
def agent_create(request: RecruiterRequest) -> HttpResponse:
    form = AgentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        agent = actions.save_agent(form, request_company(request), request.user)
        messages.success(request, f"エージェント「{agent}」を登録しました。")
        return redirect("candidates:agent_list")
    return render(request, "candidates/agent_form.html", {"form": form, "is_new": True})


@require_http_methods(["GET", "POST"])
def agent_edit(request: RecruiterRequest, agent_pk: int) -> HttpResponse:
    agent = get_scoped_or_404(request, Agent, pk=agent_pk)
    form = AgentForm(request.POST or None, instance=agent)
    if request.method == "POST" and form.is_valid():
        agent = actions.save_agent(form, request_company(request), request.user)
        messages.success(request, f"エージェント「{agent}」を更新しました。")
        return redirect("candidates:agent_list")
    return render(request, "candidates/agent_form.html", {"form": form, "is_new": False, "agent": agent})


@require_http_methods(["GET", "POST"])
def agent_delete(request: RecruiterRequest, agent_pk: int) -> HttpResponse:
    agent = get_scoped_or_404(request, Agent.objects.annotate(candidate_count=Count("candidates")), pk=agent_pk)
    if request.method == "POST":
        label = str(agent)
        actions.delete_agent(agent, request.user)
        messages.success(request, f"エージェント「{label}」を削除しました。")
        return redirect("candidates:agent_list")
    return render(request, "candidates/agent_confirm_delete.html", {"agent": agent})
