from django.urls import path

from selection import public_views

app_name = "selection_public"

# The candidate's scheduling page, no login: the personal token is the only key.
urlpatterns = [
    path("<str:token>/", public_views.book, name="book"),
]
