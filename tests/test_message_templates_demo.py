"""The demo company gets templates for the common messages, once (seed_demo's signal)."""

from io import StringIO

import pytest
from django.core.management import call_command

from hrmos.models import Company
from messaging import rendering
from messaging.models import MessageTemplate

pytestmark = pytest.mark.django_db

COMMON = {"一次面接のご案内", "説明会のご案内", "合格のご連絡", "不合格のご連絡"}


def seed() -> Company:
    call_command("seed_demo", stdout=StringIO())
    return Company.objects.get(name="株式会社デモ商事")


def test_the_demo_company_gets_the_common_templates_once():
    company = seed()
    assert set(MessageTemplate.objects.filter(company=company).values_list("name", flat=True)) == COMMON
    MessageTemplate.objects.filter(company=company, name="合格のご連絡").update(body="デモで書き換えた本文")
    seed()
    assert MessageTemplate.objects.filter(company=company).count() == len(COMMON)
    assert MessageTemplate.objects.get(company=company, name="合格のご連絡").body == "デモで書き換えた本文"


def test_the_demo_templates_use_only_known_placeholders_with_a_value_for_the_demo_login():
    company = seed()
    for template in MessageTemplate.objects.filter(company=company):
        assert template.subject and template.body
        assert rendering.unknown_placeholders(template.subject, template.body) == [], template.name
        assert rendering.SENDER_DEPARTMENT not in rendering.placeholders_in(template.body), template.name
