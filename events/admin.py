from django.contrib import admin

from events.models import Application, Event, EventDate


class EventDateInline(admin.TabularInline):
    model = EventDate
    extra = 0
    readonly_fields = ["taken"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "company", "is_published", "created_at"]
    list_filter = ["is_published"]
    search_fields = ["title"]
    inlines = [EventDateInline]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["event", "date", "candidate", "status", "source", "applied_at"]
    list_filter = ["status", "source"]
    raw_id_fields = ["candidate", "date", "event"]
