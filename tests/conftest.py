"""Persona fixtures shared by every test, and the rule for tests that need real services.

Tests marked `postgres`, `redis` or `browser` skip on a laptop without that service but
FAIL under CI=true: a missing service in CI must never look like a passing suite.
"""

import os
import shutil

import pytest
from django.db import connection

from candidates.models import Candidate, Stage
from hrmos.celery import app as celery_app
from hrmos.models import Company, User

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = "/usr/bin/chromium"


def _missing_service(marker: str) -> str | None:
    if marker == "postgres" and connection.vendor != "postgresql":
        return "PostgreSQL is not configured (set DATABASE_URL=postgres://...)"
    if marker == "redis" and not os.environ.get("REDIS_URL"):
        return "Redis is not configured (set REDIS_URL=redis://...)"
    if marker == "browser" and not shutil.which(CHROMIUM):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _missing_service(marker)
        if reason is None:
            continue
        if CI:
            pytest.fail(f"CI=true and this test needs a service: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path) -> None:
    """Mail and uploaded files go to a per-test folder, never to var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _celery_runs_inline():
    """Tasks run in the test process when their transaction commits (use
    `django_capture_on_commit_callbacks(execute=True)`). Tests that need a real worker
    start one themselves."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


PASSWORD = "correct horse battery staple"


@pytest.fixture
def company(db) -> Company:
    return Company.objects.create(name="株式会社テスト")


@pytest.fixture
def other_company(db) -> Company:
    return Company.objects.create(name="株式会社よそ")


def make_recruiter(company: Company, username: str) -> User:
    return User.objects.create_user(
        username=username, password=PASSWORD, company=company, last_name="採用", first_name="太郎"
    )


@pytest.fixture
def recruiter(company) -> User:
    return make_recruiter(company, "recruiter")


@pytest.fixture
def other_company_recruiter(other_company) -> User:
    return make_recruiter(other_company, "outsider")


@pytest.fixture
def recruiter_client(client, recruiter):
    client.force_login(recruiter)
    return client


def make_candidate(company: Company, **fields) -> Candidate:
    defaults = {
        "last_name": "山田",
        "first_name": "花子",
        "last_name_kana": "ヤマダ",
        "first_name_kana": "ハナコ",
        "email": "hanako@example.com",
        "university": "東京大学",
        "graduation_year": 2027,
        "stage": Stage.objects.filter(company=company).order_by("position").first(),
    }
    defaults.update(fields)
    return Candidate.objects.create(company=company, **defaults)


@pytest.fixture
def candidate(company) -> Candidate:
    return make_candidate(company)
