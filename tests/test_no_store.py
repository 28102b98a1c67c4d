"""Personal data is never cached: every answer to a logged-in recruiter says no-store; static
files stay cacheable."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_with_personal_data_are_never_stored(recruiter_client, candidate):
    pages = [
        reverse("candidates:list"),
        reverse("candidates:list") + "?q=山田",
        reverse("candidates:detail", args=[candidate.pk]),
        reverse("candidates:export"),
        reverse("messaging:timeline", args=[candidate.pk]),
        reverse("messaging:line_chat", args=[candidate.pk]),
        reverse("messaging:inbox"),
        reverse("messaging:send_list"),
        "/no-such-page/",
    ]
    for path in pages:
        response = recruiter_client.get(path)
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"], path


def test_static_files_stay_cacheable_for_a_logged_in_recruiter(recruiter_client):
    response = recruiter_client.get("/static/app/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
