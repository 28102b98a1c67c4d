"""Admin for staff: every company's data. `company` is not editable in forms (CompanyOwned),
so adding a row here asks for the company explicitly and checks that related rows match it."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from candidates.models import Agent, Candidate, ImportBatch, Stage
from hrmos.models import Company

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec


class OwnerCompanyForm(forms.ModelForm):
    """The admin's add form: the company the new row belongs to, and related rows must be its own."""

    owner_company = forms.ModelChoiceField(Company.objects.all(), label="企業")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        company = cleaned.get("owner_company")
        for name, field in self.fields.items():
            value = cleaned.get(name)
            owned = _company_owned_rows(field) is not None
            if owned and company and value is not None and value.company_id != company.pk:
                self.add_error(name, ValidationError("選んだ企業のものを指定してください。"))
        return cleaned


class CompanyOwnedAdmin(admin.ModelAdmin):
    """Adds a company choice on the add form; on change, related choices stay in the row's company."""

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = OwnerCompanyForm
        if kwargs.get("fields"):
            # owner_company is the form's, not the model's: the ModelForm factory must not see it.
            kwargs["fields"] = [name for name in kwargs["fields"] if name != "owner_company"]
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            for field in form.base_fields.values():
                if isinstance(field, forms.ModelChoiceField) and (rows := _company_owned_rows(field)) is not None:
                    field.queryset = rows.filter(company=obj.company)
        return form

    def get_fieldsets(self, request: HttpRequest, obj: Any | None = None) -> "_FieldsetSpec":
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return [(None, {"fields": ["owner_company"]}), *fieldsets]
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any | None = None) -> tuple[str, ...]:
        return ("company", *super().get_readonly_fields(request, obj)) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.company = form.cleaned_data["owner_company"]
        super().save_model(request, obj, form, change)


def _company_owned_rows(field: forms.Field) -> QuerySet[Any] | None:
    """The rows a choice field offers, when they belong to a company (Company itself aside)."""
    rows = field.queryset if isinstance(field, forms.ModelChoiceField) else None
    if rows is None or rows.model is Company or not hasattr(rows.model, "company_id"):
        return None
    return rows


@admin.register(Stage)
class StageAdmin(CompanyOwnedAdmin):
    list_display = ("name", "position", "kind", "company")
    list_filter = ("kind", "company")
    search_fields = ("name", "company__name")
    list_select_related = ("company",)
    ordering = ("company", "position")


@admin.register(Agent)
class AgentAdmin(CompanyOwnedAdmin):
    list_display = ("agency_name", "contact_name", "contact_email", "company", "created_at")
    list_filter = ("company",)
    search_fields = ("agency_name", "contact_name", "contact_email")
    list_select_related = ("company",)


@admin.register(Candidate)
class CandidateAdmin(CompanyOwnedAdmin):
    list_display = ("name", "kana", "email", "university", "graduation_year", "stage", "agent", "company", "created_at")
    list_filter = ("graduation_year", "stage__kind", "company")
    search_fields = ("last_name", "first_name", "last_name_kana", "first_name_kana", "email", "university")
    list_select_related = ("company", "stage", "agent")
    readonly_fields = ("created_at", "updated_at")
    date_hierarchy = "created_at"
    list_per_page = 50

    @admin.display(description="氏名", ordering="last_name_kana")
    def name(self, obj: Candidate) -> str:
        return obj.name

    @admin.display(description="フリガナ")
    def kana(self, obj: Candidate) -> str:
        return obj.kana

    def get_readonly_fields(self, request: HttpRequest, obj: Any | None = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), "created_at", "updated_at")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Read-only: pending CSV previews, in case one needs looking into."""

    list_display = ("filename", "company", "created_by", "encoding", "created_at")
    list_filter = ("company",)
    fields = ("filename", "company", "created_by", "encoding", "headers", "mapping", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportBatch | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("company", "created_by")
