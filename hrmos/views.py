from django.contrib import messages as flash
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from hrmos.audit import log_action
from hrmos.forms import ProfileForm
from hrmos.http import RecruiterRequest
from hrmos.tenancy import request_company


@require_GET
def home(request: RecruiterRequest) -> HttpResponse:
    if request.user.company_id is None and request.user.is_staff:
        return redirect("admin:index")
    return redirect("candidates:list")


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


@require_http_methods(["GET", "POST"])
def profile(request: RecruiterRequest) -> HttpResponse:
    """The recruiter's name and department, as their messages show them."""
    company = request_company(request)
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        log_action(
            company, request.user, "hrmos.profile_updated", "プロフィールを更新しました", fields=form.changed_data
        )
        flash.success(request, "プロフィールを保存しました。")
        return redirect("profile")
    return render(request, "hrmos/profile.html", {"form": form})
