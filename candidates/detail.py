"""The candidate detail layout, shared with the tabs other apps add.

A tab page from another app (e.g. messaging's タイムライン) does:

    from candidates.detail import candidate_or_404, detail_context

    def timeline(request, candidate_pk):
        candidate = candidate_or_404(request, candidate_pk)
        context = detail_context(request, candidate, active_tab="timeline")
        return render(request, "messaging/timeline.html", {**context, "entries": ...})

and its template extends `candidates/detail_base.html`, filling `{% block tab_content %}`.
"""

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from candidates import extensions
from candidates.models import Candidate
from hrmos.tenancy import get_scoped_or_404

PROFILE_TAB = "profile"


def candidate_or_404(request: HttpRequest, candidate_pk: int) -> Candidate:
    """The recruiter's candidate with what the header shows (stage, agent, hook relations)."""
    queryset = extensions.apply_queryset_hooks(Candidate.objects.select_related("stage", "agent"))
    return get_scoped_or_404(request, queryset, pk=candidate_pk)


def _reverse(url_name: str, candidate: Candidate) -> str | None:
    try:
        return reverse(url_name, args=[candidate.pk])
    except NoReverseMatch:
        return None


def detail_context(request: HttpRequest, candidate: Candidate, active_tab: str = PROFILE_TAB) -> dict:
    """Context for `candidates/detail_base.html`: `candidate`, `active_tab`, `detail_tabs`
    (dicts with key, label, url, icon, active), `detail_actions` (label, url, icon, style) and
    `detail_badges` (template names, each included with `candidate` in context)."""
    tabs: list[dict[str, str | bool]] = [
        {
            "key": PROFILE_TAB,
            "label": "基本情報",
            "url": reverse("candidates:detail", args=[candidate.pk]),
            "icon": "person-vcard",
        }
    ]
    for tab in extensions.detail_tabs():
        if url := _reverse(tab.url_name, candidate):
            tabs.append({"key": tab.key, "label": tab.label, "url": url, "icon": tab.icon})
    for entry in tabs:
        entry["active"] = entry["key"] == active_tab
    actions = []
    for action in extensions.detail_actions():
        if url := _reverse(action.url_name, candidate):
            url = f"{url}?{action.query}" if action.query else url
            actions.append({"label": action.label, "url": url, "icon": action.icon, "style": action.style})
    return {
        "candidate": candidate,
        "active_tab": active_tab,
        "detail_tabs": tabs,
        "detail_actions": actions,
        "detail_badges": extensions.detail_badges(),
    }
