"""The operator's view of forms and answers: read-only. Forms change through the builder and
answers through the candidate's page; an edit here would bypass both."""

from django.contrib import admin

from customforms.models import Form, FormResponse
from hrmos.admin import ReadOnlyAdmin


@admin.register(Form)
class FormAdmin(ReadOnlyAdmin):
    list_display = ("id", "company", "name", "is_published", "deadline", "archived_at", "created_at")
    list_filter = ("is_published",)
    search_fields = ("name",)


@admin.register(FormResponse)
class FormResponseAdmin(ReadOnlyAdmin):
    list_display = ("id", "company", "form", "candidate", "submitted_at", "updated_at", "edit_count")
    raw_id_fields = ("form", "candidate")
