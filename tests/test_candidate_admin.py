import pytest
from django.urls import reverse

from candidates.models import Agent, Candidate, Stage
from hrmos.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.mark.parametrize("model", [Candidate, Agent, Stage])
def test_changelist_and_add_pages_load(admin_client, candidate, model):
    opts = model._meta
    assert (
        admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "山田"}).status_code
        == 200
    )
    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_candidate_change_page_loads(admin_client, candidate):
    assert admin_client.get(reverse("admin:candidates_candidate_change", args=[candidate.pk])).status_code == 200


def test_adding_an_agent_asks_for_the_company(admin_client, company):
    admin_client.post(
        reverse("admin:candidates_agent_add"), {"owner_company": company.pk, "agency_name": "管理画面エージェント"}
    )
    assert Agent.objects.get().company == company


def test_admin_add_refuses_a_stage_of_another_company(admin_client, company, other_company):
    foreign_stage = Stage.objects.filter(company=other_company).first()
    response = admin_client.post(
        reverse("admin:candidates_candidate_add"),
        {"owner_company": company.pk, "last_name": "山田", "stage": foreign_stage.pk},
    )
    assert response.status_code == 200
    assert not Candidate.objects.exists()
