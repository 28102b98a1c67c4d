from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from hrmos.models import AuditEvent, Company, User


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that change only through their own flows: the admin shows them, never edits."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "created_at")
    search_fields = ("name", "public_id")
    readonly_fields = ("public_id", "created_at")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "last_name", "first_name", "company", "is_staff")
    list_filter = ("company", "is_staff", "is_active")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("企業", {"fields": ("company", "department")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("企業", {"fields": ("company", "department")}))


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "company", "actor", "action", "summary")
    list_filter = ("action",)
    readonly_fields = ("company", "actor", "action", "summary", "data", "created_at")


# django-axes' own admin (imported above, so it is registered already), with its one unlabelled
# column named in Japanese like the rest (its other labels: hrmos/locale/ja).
class LoginFailureAdmin(AccessAttemptAdmin):
    @admin.display(description="状態")
    def status(self, attempt: AccessAttempt) -> str:
        return str(super().status(attempt))


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, LoginFailureAdmin)
