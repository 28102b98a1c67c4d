from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class OperatorAdminSite(AdminSite):
    """The Django admin sees every company's data, so it is for platform operators only: staff
    accounts that belong to no company. Recruiters work in the app, scoped to their company."""

    site_header = "HRMOS採用 新卒 運用管理"
    site_title = "HRMOS採用 運用管理"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return super().has_permission(request) and user.is_authenticated and user.company_id is None


class OperatorAdminConfig(AdminConfig):
    default_site = "hrmos.admin_site.OperatorAdminSite"
