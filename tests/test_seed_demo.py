from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from candidates import models
from candidates.management.commands import seed_demo
from hrmos.models import Company, User

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def logs_in(client) -> bool:
    response = client.post(reverse("login"), {"username": "demo", "password": seed_demo.PASSWORD})
    return response.status_code == 302 and response["Location"] == reverse("home")


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Company, User, models.Candidate, models.Agent, models.Stage))


def test_seed_demo_creates_a_company_login_and_candidates(client):
    output = run()
    company = Company.objects.get(name="株式会社デモ商事")
    candidates = models.Candidate.objects.filter(company=company)
    assert candidates.count() == seed_demo.CANDIDATE_COUNT
    assert candidates.filter(agent__isnull=False).count() >= 5
    assert candidates.values("stage").distinct().count() >= 6
    assert set(candidates.values_list("graduation_year", flat=True)) <= {2026, 2027, 2028}
    assert "http://localhost:8000/" in output and "demo" in output and seed_demo.PASSWORD in output
    assert logs_in(client)


def test_seed_demo_twice_changes_nothing(client):
    first_output = run()
    before = counts()
    company = Company.objects.get(name="株式会社デモ商事")
    password_hash = User.objects.get(username="demo").password
    second_output = run()
    assert counts() == before
    assert Company.objects.get(name="株式会社デモ商事").public_id == company.public_id
    assert User.objects.get(username="demo").password == password_hash
    assert first_output.split("ログイン情報")[1] == second_output.split("ログイン情報")[1]
    assert logs_in(client)


def test_seed_demo_restores_a_changed_password(client):
    run()
    user = User.objects.get(username="demo")
    user.set_password("something else")
    user.save()
    run()
    assert logs_in(client)


def test_the_demo_interviews_are_first_interviews():
    from selection.models import Interview

    run()
    stages = set(Interview.objects.values_list("stage__name", flat=True))
    assert stages == {"一次面接"}
