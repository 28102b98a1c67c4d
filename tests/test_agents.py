import pytest
from django.urls import reverse

from candidates.models import Agent
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


def test_agent_list_counts_candidates(recruiter_client, company):
    agent = Agent.objects.create(company=company, agency_name="株式会社キャリア")
    make_candidate(company, agent=agent)
    body = recruiter_client.get(reverse("candidates:agent_list")).content.decode()
    assert "株式会社キャリア" in body and "1名" in body


def test_empty_agent_list_offers_to_add(recruiter_client):
    assert (
        "エージェントはまだ登録されていません"
        in recruiter_client.get(reverse("candidates:agent_list")).content.decode()
    )


def test_create_agent(recruiter_client, company):
    recruiter_client.post(
        reverse("candidates:agent_create"), {"agency_name": "株式会社ネクスト", "contact_email": "A@B.example.com"}
    )
    agent = Agent.objects.get()
    assert (agent.company, agent.contact_email) == (company, "a@b.example.com")


def test_create_agent_needs_a_name(recruiter_client):
    response = recruiter_client.post(reverse("candidates:agent_create"), {"agency_name": ""})
    assert "agency_name" in response.context["form"].errors


def test_edit_agent(recruiter_client, company):
    agent = Agent.objects.create(company=company, agency_name="旧社名")
    recruiter_client.post(reverse("candidates:agent_edit", args=[agent.pk]), {"agency_name": "新社名"})
    agent.refresh_from_db()
    assert agent.agency_name == "新社名"


def test_deleting_an_agent_keeps_its_candidates(recruiter_client, company):
    agent = Agent.objects.create(company=company, agency_name="株式会社キャリア")
    candidate = make_candidate(company, agent=agent)
    confirm = recruiter_client.get(reverse("candidates:agent_delete", args=[agent.pk])).content.decode()
    assert "1名" in confirm
    recruiter_client.post(reverse("candidates:agent_delete", args=[agent.pk]))
    candidate.refresh_from_db()
    assert candidate.agent is None
    assert not Agent.objects.exists()
