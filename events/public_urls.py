from django.urls import path

from events import public_views

app_name = "events_public"

# Candidates' pages, no login: the personal token, or the event's public id, is the only key.
urlpatterns = [
    path("p/<uuid:public_id>/", public_views.public, name="public"),
    path("p/<uuid:public_id>/done/", public_views.public_done, name="public_done"),
    path("<str:token>/", public_views.personal, name="personal"),
]
