"""Admin for staff: every company's data. `company` is not editable in forms (CompanyOwned),
so adding a row here asks for the company explicitly and checks that related rows match it."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from candidates.models import Agent, Candidate, ImportBatch, Stage
from hrmos.models import Company


class CompanyOwnedAdmin(admin.ModelAdmin):
    """Adds a company choice on the add form; on change, related choices stay in the row's company."""

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        if kwargs.get("fields"):
            # owner_company is ours, not the model's: the ModelForm factory must not see it.
            kwargs["fields"] = [name for name in kwargs["fields"] if name != "owner_company"]
        base = super().get_form(request, obj, change=change, **kwargs)
        related = [name for name, field in base.base_fields.items() if _is_company_owned_choice(field)]
        if obj is not None:
            for name in related:
                base.base_fields[name].queryset = base.base_fields[name].queryset.filter(company=obj.company)
            return base

        class AddForm(base):
            owner_company = forms.ModelChoiceField(Company.objects.all(), label="企業")

            def clean(self) -> dict:
                cleaned = super().clean()
                company = cleaned.get("owner_company")
                for name in related:
                    value = cleaned.get(name)
                    if company and value is not None and value.company_id != company.pk:
                        self.add_error(name, ValidationError("選んだ企業のものを指定してください。"))
                return cleaned

        return AddForm

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return [(None, {"fields": ["owner_company"]}), *fieldsets]
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ("company", *super().get_readonly_fields(request, obj)) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if not change:
            obj.company = form.cleaned_data["owner_company"]
        super().save_model(request, obj, form, change)


def _is_company_owned_choice(field: forms.Field) -> bool:
    queryset = getattr(field, "queryset", None)
    return queryset is not None and hasattr(queryset.model, "company_id") and queryset.model is not Company


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

    def get_readonly_fields(self, request: HttpRequest, obj=None):
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

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("company", "created_by")
