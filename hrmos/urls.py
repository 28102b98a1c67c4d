from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from hrmos import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("candidates/", include("candidates.urls")),
    path("", include("line_integration.urls")),  # /settings/line/, /line/webhook/…, /line/callback/…
    path("messages/", include("messaging.urls")),
    path("forms/", include("customforms.urls")),
    path("f/", include("customforms.public_urls")),  # candidates' answer pages (personal links)
    path("results/", include("results.urls")),
    path("events/", include("events.urls")),
    path("e/", include("events.public_urls")),  # candidates' application pages (personal and public links)
    path("selection/", include("selection.urls")),
    path("s/", include("selection.public_urls")),  # candidates' scheduling pages (personal links)
    path("admin/", admin.site.urls),
]

handler404 = "hrmos.views.page_not_found"
handler500 = "hrmos.views.server_error"
