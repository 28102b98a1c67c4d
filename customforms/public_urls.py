from django.urls import path

from customforms import public_views

app_name = "customforms_public"

# Candidates' pages, no login: the personal token is the only key.
urlpatterns = [
    path("<str:token>/", public_views.answer, name="answer"),
    path("<str:token>/done/", public_views.done, name="done"),
]
