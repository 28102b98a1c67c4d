from django.urls import path

from selection import views

app_name = "selection"

# Object ids in paths are named for their model (schedule_pk, slot_pk, interview_pk,
# scheduling_request_pk, candidate_pk) so the tenancy sweep (tests/test_tenancy_sweep.py) knows which object to try.
urlpatterns = [
    path("", views.interview_list, name="interviews"),
    path("schedules/", views.schedule_list, name="schedules"),
    path("schedules/new/", views.schedule_create, name="schedule_create"),
    path("schedules/<int:schedule_pk>/", views.schedule_detail, name="schedule"),
    path("schedules/<int:schedule_pk>/edit/", views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:schedule_pk>/archive/", views.schedule_archive, name="schedule_archive"),
    path("schedules/<int:schedule_pk>/slots/new/", views.slot_create, name="slot_create"),
    path("schedules/<int:schedule_pk>/slots/bulk/", views.slot_bulk_create, name="slot_bulk_create"),
    path("schedules/<int:schedule_pk>/slots/<int:slot_pk>/delete/", views.slot_delete, name="slot_delete"),
    path("interviews/<int:interview_pk>/edit/", views.interview_edit, name="interview_edit"),
    path("interviews/<int:interview_pk>/status/", views.interview_status, name="interview_status"),
    path("requests/<int:scheduling_request_pk>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("candidates/<int:candidate_pk>/", views.candidate_tab, name="candidate_tab"),
    path("candidates/<int:candidate_pk>/interviews/new/", views.interview_create, name="interview_create"),
]
