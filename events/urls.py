from django.urls import path

from events import views

app_name = "events"

# Object ids in paths are named for their model (event_pk, event_date_pk, candidate_pk) so the
# tenancy sweep (tests/test_tenancy_sweep.py) knows which object to try.
urlpatterns = [
    path("", views.event_list, name="list"),
    path("new/", views.event_create, name="create"),
    path("<int:event_pk>/", views.event_detail, name="detail"),
    path("<int:event_pk>/edit/", views.event_edit, name="edit"),
    path("<int:event_pk>/copy/", views.event_copy, name="copy"),
    path("<int:event_pk>/delete/", views.event_delete, name="delete"),
    path("<int:event_pk>/export/", views.event_export, name="export"),
    path("<int:event_pk>/attendance/", views.attendance, name="attendance"),
    path("<int:event_pk>/book/", views.event_book, name="book"),
    path("<int:event_pk>/message/", views.participants_message, name="message"),
    path("<int:event_pk>/dates/<int:event_date_pk>/cancel/", views.date_cancel, name="date_cancel"),
    path("candidates/<int:candidate_pk>/", views.candidate_tab, name="candidate_tab"),
    path("candidates/<int:candidate_pk>/book/", views.candidate_book, name="candidate_book"),
]
