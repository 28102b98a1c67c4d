from django.urls import path

from results import settings_views, views

app_name = "results"

# Object ids in paths are named for their model (candidate_pk, selection_result_pk, stage_pk)
# so the tenancy sweep (tests/test_tenancy_sweep.py) knows which object to try.
urlpatterns = [
    path("candidates/<int:candidate_pk>/", views.candidate_tab, name="candidate_tab"),
    path("bulk/", views.bulk_record, name="bulk"),
    path("<int:selection_result_pk>/notice/cancel/", views.notice_cancel, name="notice_cancel"),
    path("<int:selection_result_pk>/notice/send-now/", views.notice_send_now, name="notice_send_now"),
    path("settings/", settings_views.settings_list, name="settings"),
    path("settings/<int:stage_pk>/", settings_views.stage_settings, name="stage_settings"),
]
