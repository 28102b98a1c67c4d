"""hrmos.text: what the database cannot hold is cleaned once, at the door."""

import pytest
from django.test import Client
from django.urls import reverse

from hrmos.text import query_dict, storable, storable_json

pytestmark = pytest.mark.django_db


def test_nul_is_taken_out_and_a_lone_surrogate_becomes_a_replacement_character():
    assert storable("a\x00b\ud800c") == "ab\ufffdc"
    assert storable("😀\u202e") == "😀\u202e"  # storable text is left as it is
    assert storable_json({"k\x00": ["v\udfff", 1]}) == ({"k": ["v\ufffd", 1]}, True)


def test_a_query_string_inside_a_parameter_is_cleaned_too():
    assert query_dict("q=a%00b&stage=1").dict() == {"q": "ab", "stage": "1"}


def test_a_session_cookie_holding_nul_is_just_no_session(client):
    # Cookie values may carry octal escapes, which Django decodes: "\000" is a NUL.
    client.cookies["sessionid"] = '"\\000abcdefgh"'
    response = client.get(reverse("candidates:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_path_holding_nul_is_not_found(recruiter):
    client = Client(raise_request_exception=False)
    client.force_login(recruiter)
    assert client.get("/line/callback/%00/").status_code == 404
    assert client.get("/f/%00/").status_code == 404
