"""The operator's view of results and notice settings: read-only. Results change through the
candidate page or the list (which also replace the notices); an edit here would bypass both."""

from django.contrib import admin

from hrmos.admin import ReadOnlyAdmin
from results.models import NoticeSetting, SelectionResult


@admin.register(SelectionResult)
class SelectionResultAdmin(ReadOnlyAdmin):
    list_display = ("id", "company", "candidate", "stage", "outcome", "is_current", "recorded_at")
    list_filter = ("outcome", "is_current")
    raw_id_fields = ("candidate", "notice")


@admin.register(NoticeSetting)
class NoticeSettingAdmin(ReadOnlyAdmin):
    list_display = ("id", "company", "stage", "outcome", "enabled", "timing", "delay_days", "hour")
