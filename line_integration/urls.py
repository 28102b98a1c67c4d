from django.urls import path

from line_integration.friends import candidate_screens
from line_integration.friends import views as friend_views
from line_integration.linking import views
from line_integration.webhook import views as webhook

app_name = "line"

urlpatterns = [
    path("settings/line/", views.settings_page, name="settings"),
    path("settings/line/link/", views.link, name="link"),
    path("settings/line/unlink/", views.unlink, name="unlink"),
    path("settings/line/webhook/", views.setup_webhook, name="setup_webhook"),
    path("settings/line/quota/", views.quota, name="quota"),
    path("settings/line/forget-secrets/", views.forget_secrets, name="forget_secrets"),
    # Friend registration (public pages for candidates; see friend_views.py).
    path("line/friend/retry/<uuid:attempt_id>/", friend_views.friend_retry, name="friend_retry"),
    path("line/friend/result/<uuid:attempt_id>/", friend_views.friend_result, name="friend_result"),
    path("line/friend/<str:token>/", friend_views.friend, name="friend"),
    path("line/callback/<str:public_id>/", friend_views.callback, name="callback"),
    # The Messaging API webhook (public; signed by LINE). Both spellings: no APPEND_SLASH 301.
    path("line/webhook/<str:public_id>/", webhook.webhook, name="webhook"),
    path("line/webhook/<str:public_id>", webhook.webhook, name="webhook_no_slash"),
    # The candidate detail page's 「LINE友達登録」 tab.
    path("candidates/<int:candidate_pk>/line-friend/", candidate_screens.candidate_tab, name="candidate_friend"),
]
