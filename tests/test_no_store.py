"""Personal data is never cached: every answer to a logged-in recruiter says no-store; static
files stay cacheable."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from hrmos.no_store import NoStoreForUsersMiddleware
from tests.test_inbox import _attachment, line_reply

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


def test_a_candidates_photo_is_never_stored_either(recruiter_client, candidate):
    message = line_reply(candidate, "", content_type="image", extra={"content_status": "ready"})
    image = _attachment(message, "LINE画像_1.jpg", "image/jpeg")

    response = recruiter_client.get(reverse("messaging:message_attachment_inline", args=[image.pk]))

    assert "no-store" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("chosen", "kept"),
    [("private, no-cache", True), ("private, no-store", True), ("private, max-age=3600", False), ("public", False)],
)
def test_a_view_may_choose_revalidation_but_not_a_cached_copy(recruiter, chosen, kept):
    request = RequestFactory().get("/candidates/")
    request.user = recruiter
    response = NoStoreForUsersMiddleware(lambda _: HttpResponse(headers={"Cache-Control": chosen}))(request)
    assert (response["Cache-Control"] == chosen) is kept
    assert kept or "no-store" in response["Cache-Control"]
