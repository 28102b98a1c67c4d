"""Password guessing spread over many addresses against one username is slowed down too."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, password: str, address: str):
    return client.post(reverse("login"), {"username": "recruiter", "password": password}, REMOTE_ADDR=address)


def wrong_from_many_addresses(client, count: int, first: int = 1) -> None:
    for n in range(first, first + count):
        assert login(client, "wrong", f"203.0.113.{n}").status_code == 200  # the form again, with its error


def test_six_failures_from_six_addresses_hold_back_the_right_password_from_a_seventh(client, recruiter):
    wrong_from_many_addresses(client, 6)

    response = login(client, PASSWORD, "198.51.100.7")

    assert response.status_code == 429
    assert "ログインを一時的に" in response.content.decode()


def test_after_the_wait_the_owner_signs_in(client, recruiter):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        wrong_from_many_addresses(client, 6)
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert login(client, PASSWORD, "198.51.100.7").status_code == 429
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert login(client, PASSWORD, "198.51.100.7").status_code == 302


def test_each_further_failure_doubles_the_wait_up_to_the_cool_off(client, recruiter):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        wrong_from_many_addresses(client, 6)
    with time_machine.travel(start + timedelta(minutes=1, seconds=1), tick=False):
        wrong_from_many_addresses(client, 1, first=50)  # the 7th failure: 2 minutes
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        assert login(client, PASSWORD, "198.51.100.7").status_code == 429
    with time_machine.travel(start + timedelta(minutes=3, seconds=2), tick=False):
        assert login(client, PASSWORD, "198.51.100.7").status_code == 302


def test_attempts_refused_during_the_wait_do_not_lengthen_it(client, recruiter):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        wrong_from_many_addresses(client, 6)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        for n in range(10):
            assert login(client, "wrong", f"192.0.2.{n}").status_code == 429
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert login(client, PASSWORD, "198.51.100.7").status_code == 302


def test_five_failures_from_one_address_do_not_stop_the_owner_elsewhere(client, recruiter):
    for _ in range(5):
        login(client, "wrong", "203.0.113.9")

    assert login(client, PASSWORD, "203.0.113.9").status_code == 429  # that address is locked
    assert login(client, PASSWORD, "198.51.100.7").status_code == 302
