"""Company scoping for every recruiter-facing query.

Models owned by a company inherit `CompanyOwned`, which gives them `company` and a manager
with `.for_company(company)`. Recruiter views never filter by company by hand: they call
`scoped(request, Model)` / `get_scoped_or_404(request, Model, pk=...)`. Another company's
object is always a 404.
"""

from typing import Any, TypeVar

from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from hrmos.http import AppRequest
from hrmos.models import Company

M = TypeVar("M", bound=models.Model)


class CompanyQuerySet(models.QuerySet):
    def for_company(self, company: Company | None) -> "CompanyQuerySet":
        if company is None:
            return self.none()
        return self.filter(company=company)


class CompanyOwned(models.Model):
    company = models.ForeignKey(
        Company, verbose_name=_("企業"), on_delete=models.CASCADE, related_name="+", editable=False
    )

    objects = CompanyQuerySet.as_manager()

    class Meta:
        abstract = True


def _company_of(request: HttpRequest) -> Company | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user.company


class CompanyMiddleware:
    """Sets `request.company`: the logged-in recruiter's company, or None."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: AppRequest) -> Any:
        request.company = SimpleLazyObject(lambda: _company_of(request))
        return self.get_response(request)


def request_company(request: HttpRequest) -> Company:
    """The recruiter's company; a user without one cannot reach recruiter screens (404)."""
    company = getattr(request, "company", None)
    if company is None or not company:
        raise Http404("採用担当者の企業が設定されていません。")
    return company._wrapped if isinstance(company, SimpleLazyObject) else company


def scoped(request: HttpRequest, model_or_queryset: type[M] | QuerySet[M]) -> QuerySet[M]:
    """The queryset limited to the recruiter's company."""
    queryset = (
        model_or_queryset if isinstance(model_or_queryset, QuerySet) else model_or_queryset._default_manager.all()
    )
    return queryset.filter(company=request_company(request))


def get_scoped_or_404(request: HttpRequest, model_or_queryset: type[M] | QuerySet[M], **lookup: Any) -> M:
    try:
        return scoped(request, model_or_queryset).get(**lookup)
    except (models.ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404("見つかりません。") from exc


def company_pk(company: Company | int) -> int:
    """The id of a company given as an instance or an id (tasks and signals pass ids)."""
    return company if isinstance(company, int) else company.pk
