import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("candidates:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_htmx_poll_after_the_session_lapsed_sends_the_page_to_login(client):
    """Not the login page swapped into the navigation badge: htmx navigates the whole page."""
    response = client.get(
        reverse("messaging:inbox_badge"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/messages/sends/7/?tab=all"},
    )
    assert response.status_code == 204 and response.content == b""
    assert response["HX-Redirect"] == reverse("login") + "?next=/messages/sends/7/%3Ftab%3Dall"


def test_recruiter_logs_in_and_lands_on_candidates(client, recruiter):
    response = client.post(reverse("login"), {"username": "recruiter", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("candidates:list")
    assert "候補者管理" in response.content.decode()


def test_wrong_password_shows_japanese_error(client, recruiter):
    response = client.post(reverse("login"), {"username": "recruiter", "password": "nope"})
    assert response.status_code == 200
    assert "正しいユーザー名とパスワードを入力してください" in response.content.decode()


def test_logout_is_a_post(recruiter_client):
    response = recruiter_client.post(reverse("logout"))
    assert response.status_code == 302
    assert recruiter_client.get(reverse("candidates:list")).status_code == 302
