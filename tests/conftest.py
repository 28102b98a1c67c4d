"""Persona fixtures shared by every test, and the rule for tests that need real services.

Tests marked `postgres`, `redis` or `browser` skip on a laptop without that service but
FAIL under CI=true: a missing service in CI must never look like a passing suite.
"""

import fcntl
import os
import shutil
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.db import connection
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.test import override_settings
from playwright.sync_api import Browser, sync_playwright

from candidates.models import Candidate, Stage
from hrmos.celery import app as celery_app
from hrmos.models import Company, User
from line_integration.webhook import fast_path
from tests.line_emulator_fixtures import line_emulator, line_emulator_server  # noqa: F401

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


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
def _one_redis_test_at_a_time(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Tests that use Redis share one Celery queue: they count it, purge it and start workers that
    take whatever is on it. Under pytest-xdist (`make test` runs two workers) they take turns."""
    if request.node.get_closest_marker("redis") is None or not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    # The workers' temporary folders sit side by side in one folder that belongs to this run.
    with (tmp_path_factory.getbasetemp().parent / "redis.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """PBKDF2 costs about a quarter of a second per user created or logged in, more than most
    tests themselves; the tests prove who may log in, not how slowly a password is hashed.
    Production keeps Django's default hashers."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


_truncate = PostgresOperations.sql_flush
# Rows the flush's post_migrate signal would write back at once: kept, so it only reads them.
_KEPT_BY_FLUSH = {"django_content_type", "auth_permission"}


def _delete_rows(
    self: PostgresOperations,
    style: Any,
    tables: Sequence[str],
    *,
    reset_sequences: bool = False,
    allow_cascade: bool = False,
) -> list[str]:
    if reset_sequences or allow_cascade:
        return _truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    names = [self.quote_name(table) for table in tables if table not in _KEPT_BY_FLUSH]
    return [f"DELETE FROM {name};" for name in names]  # noqa: S608 (Django's own table names, quoted)


@pytest.fixture(autouse=True, scope="session")
def _cheap_flush_after_transactional_tests() -> Iterator[None]:
    """After each `transaction=True` test Django empties every table. On PostgreSQL its TRUNCATE
    of all of them takes 2-3 s on a busy machine (new files for every table and index, synced at
    commit); deleting the few rows a test leaves takes a tenth of that. Django's foreign keys on
    PostgreSQL are DEFERRABLE INITIALLY DEFERRED, so the order of the DELETEs does not matter
    inside the flush's transaction."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PostgresOperations, "sql_flush", _delete_rows)
        yield


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test module (starting one takes seconds); each test opens its own
    context, so no cookie or page outlives a test."""
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API runs an event loop in this thread while the browser lives; the
        # tests' own ORM calls are still plain synchronous code.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path) -> None:
    """Mail, uploaded files and the cache are per test, never var/ or a shared Redis."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": tmp_path.name}
    }


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


@pytest.fixture(autouse=True)
def _fresh_webhook_channels():
    """The webhook caches linked channels per process: every test starts and ends without them."""
    fast_path.forget_channels()
    yield
    fast_path.forget_channels()


@pytest.fixture(params=["fast path", "plain view"])
def both_webhook_paths(request, settings) -> str:
    """The test runs twice: through the webhook's fast path, and with it off (the plain view)."""
    settings.LINE_WEBHOOK_FAST_PATH = request.param == "fast path"
    return request.param


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


# --- LINE: a company linked to an emulator channel pair ---------------------------------------


@pytest.fixture
def line_pair(line_emulator, company, settings):  # noqa: F811 (the fixture imported above)
    """An emulator provider with a Messaging API channel, a published Login channel (callback =
    this company's callback URL, linked to the OA) and one persona who is not yet a friend."""
    return line_emulator.create_linked_pair(callback_url=f"{settings.SITE_URL}/line/callback/{company.public_id}/")


@pytest.fixture
def linked_company(company, recruiter, line_pair) -> Company:
    """`company`, 連携中 with `line_pair` through the real 連携を開始 action (verified by the emulator)."""
    link_to_pair(company, recruiter, line_pair)
    return company


def link_to_pair(company: Company, recruiter: User, pair) -> None:
    """The real 連携を開始 action with an emulator pair's channel ids and secrets."""
    from line_integration.linking import actions

    actions.link(
        company,
        recruiter,
        actions.ChannelCredentials(
            messaging_channel_id=pair.messaging_channel_id,
            messaging_channel_secret=pair.messaging_channel_secret,
            login_channel_id=pair.login_channel_id,
            login_channel_secret=pair.login_channel_secret,
        ),
    )


@pytest.fixture
def line_friend_candidate(linked_company, candidate, line_emulator, line_pair) -> Candidate:  # noqa: F811
    """`candidate`, a LINE friend of the linked OA: the pair's persona follows it in the emulator
    and the candidate's LineAccount holds the persona's userId."""
    from django.utils import timezone

    from line_integration.models import LineAccount

    line_emulator.follow(line_pair.messaging_channel_id, line_pair.persona_id)
    LineAccount.objects.create(
        company=linked_company,
        candidate=candidate,
        line_user_id=line_pair.user_id,
        display_name="山田 花子",
        friend_state=LineAccount.FriendState.FRIEND,
        state_changed_at=timezone.now(),
    )
    return candidate


def not_live(callbacks: list) -> list:
    """On-commit callbacks other than the open screens' version renewal (messaging/live.py)."""
    return [callback for callback in callbacks if getattr(callback, "__name__", "") != "renew_live_versions"]
