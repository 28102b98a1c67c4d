from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from candidates.models import Candidate
from hrmos.tenancy import scoped


def candidate_list(request: HttpRequest) -> HttpResponse:
    candidates = scoped(request, Candidate).select_related("stage", "agent").order_by("-created_at", "-id")[:50]
    return render(request, "candidates/list.html", {"candidates": candidates})
