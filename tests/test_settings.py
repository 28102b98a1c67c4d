import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse

from hrmos.celery import app as celery_app
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x7#k2!q9m$w4z@p8r6t1v3n5b0c&d^f*g(h)j_l+s=a-e%u?y;o:i<>",
    "ALLOWED_HOSTS": "ats.example.com",
    "SITE_URL": "https://ats.example.com",
    "DATABASE_URL": "sqlite:////tmp/hrmos-deploy-check.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp://user:pw@smtp.example.com:587/?tls=True",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CELERY_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_check_deploy_is_clean_with_production_values():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_encryption_keys():
    env = {**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": ""}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_celery_retries_never_outlive_the_visibility_timeout():
    conf = celery_app.conf
    assert conf.task_retry_backoff_max + conf.task_time_limit < settings.CELERY_VISIBILITY_TIMEOUT
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True


@pytest.mark.django_db
def test_pages_carry_a_strict_script_policy(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.django_db
def test_unknown_page_is_a_japanese_404_in_the_layout(recruiter_client):
    response = recruiter_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.content.decode()


@pytest.mark.django_db
def test_login_is_locked_after_five_failures(client, recruiter):
    for _ in range(5):
        client.post(reverse("login"), {"username": "recruiter", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "recruiter", "password": PASSWORD})
    assert response.status_code == 429
    assert "ログインを一時的に制限しています" in response.content.decode()


@pytest.mark.django_db
def test_behind_a_proxy_a_lockout_hits_the_attacker_not_everyone(client, recruiter, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": "recruiter", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="203.0.113.9",
            **proxy,
        )
    locked = client.post(
        reverse("login"), {"username": "recruiter", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy
    )
    assert locked.status_code == 429
    office = client.post(
        reverse("login"),
        {"username": "recruiter", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7, 198.51.100.20",  # a spoofed left entry, then the real client
        **proxy,
    )
    assert office.status_code == 302


def test_the_sticker_base_is_a_setting_the_page_policy_allows():
    shown = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.LINE_STICKER_BASE, s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])",
        env={"LINE_STICKER_BASE": "http://127.0.0.1:8765/"},
    )
    base, img_src = shown.stdout.split(" ", 1)
    assert base == "http://127.0.0.1:8765" and "'http://127.0.0.1:8765'" in img_src
