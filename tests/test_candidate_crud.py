import pytest
from django.urls import reverse

from candidates.models import Agent, Candidate, Stage
from hrmos.models import AuditEvent
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


def form_data(company, **overrides) -> dict:
    data = {
        "last_name": "鈴木",
        "first_name": "一郎",
        "last_name_kana": "すずき",
        "first_name_kana": "ｲﾁﾛｳ",
        "email": "Ichiro@Example.com",
        "phone": "０９０-１２３４-５６７８",
        "university": "大阪大学",
        "faculty": "経済学部",
        "graduation_year": "2028",
        "stage": Stage.objects.get(company=company, name="書類選考").pk,
        "agent_choice": "",
        "memo": "説明会に参加",
    }
    data.update(overrides)
    return data


def test_create_saves_normalised_candidate_and_shows_detail(recruiter_client, company):
    response = recruiter_client.post(reverse("candidates:create"), form_data(company), follow=True)
    candidate = Candidate.objects.get()
    assert (candidate.last_name_kana, candidate.first_name_kana) == ("スズキ", "イチロウ")
    assert candidate.email == "ichiro@example.com"
    assert candidate.phone == "090-1234-5678"
    assert candidate.company == company
    assert response.redirect_chain[-1][0] == reverse("candidates:detail", args=[candidate.pk])
    assert "鈴木 一郎さんを登録しました。" in response.content.decode()
    assert AuditEvent.objects.filter(action="candidate.create").exists()


def test_create_defaults_to_the_first_stage(recruiter_client):
    form = recruiter_client.get(reverse("candidates:create")).context["form"]
    assert form.fields["stage"].initial.name == "エントリー"


def test_duplicate_email_in_the_company_is_refused(recruiter_client, company, candidate):
    response = recruiter_client.post(reverse("candidates:create"), form_data(company, email="HANAKO@example.com"))
    assert response.status_code == 200
    assert "このメールアドレスの候補者はすでに登録されています。" in response.content.decode()
    assert Candidate.objects.count() == 1


def test_same_email_in_another_company_is_fine(recruiter_client, company, other_company):
    make_candidate(other_company, email="ichiro@example.com")
    recruiter_client.post(reverse("candidates:create"), form_data(company))
    assert Candidate.objects.filter(company=company).count() == 1


def test_bad_email_is_a_field_error(recruiter_client, company):
    response = recruiter_client.post(reverse("candidates:create"), form_data(company, email="not-an-email"))
    assert response.context["form"].errors["email"] == ["有効なメールアドレスを入力してください。"]
    assert "is-invalid" in response.content.decode()


def test_graduation_year_out_of_range_is_refused(recruiter_client, company):
    response = recruiter_client.post(reverse("candidates:create"), form_data(company, graduation_year="2207"))
    assert "卒業年度は" in response.context["form"].errors["graduation_year"][0]


def test_missing_last_name_is_refused(recruiter_client, company):
    response = recruiter_client.post(reverse("candidates:create"), form_data(company, last_name=""))
    assert response.context["form"].errors["last_name"] == ["姓を入力してください。"]


def test_stage_of_another_company_cannot_be_chosen(recruiter_client, company, other_company):
    foreign = Stage.objects.filter(company=other_company).first()
    response = recruiter_client.post(reverse("candidates:create"), form_data(company, stage=foreign.pk))
    assert "stage" in response.context["form"].errors


def test_existing_agent_can_be_chosen(recruiter_client, company):
    agent = Agent.objects.create(company=company, agency_name="株式会社キャリア")
    recruiter_client.post(reverse("candidates:create"), form_data(company, agent_choice=str(agent.pk)))
    assert Candidate.objects.get().agent == agent


def test_agent_of_another_company_cannot_be_chosen(recruiter_client, company, other_company):
    foreign = Agent.objects.create(company=other_company, agency_name="よその会社")
    response = recruiter_client.post(reverse("candidates:create"), form_data(company, agent_choice=str(foreign.pk)))
    assert "agent_choice" in response.context["form"].errors


def test_new_agent_is_created_inline(recruiter_client, company):
    data = form_data(
        company,
        agent_choice="new",
        new_agent_agency_name="株式会社ネクスト",
        new_agent_contact_name="大野",
        new_agent_contact_email="Ohno@Next.example.com",
    )
    recruiter_client.post(reverse("candidates:create"), data)
    agent = Candidate.objects.get().agent
    assert (agent.agency_name, agent.contact_email, agent.company) == (
        "株式会社ネクスト",
        "ohno@next.example.com",
        company,
    )


def test_new_agent_needs_an_agency_name(recruiter_client, company):
    response = recruiter_client.post(reverse("candidates:create"), form_data(company, agent_choice="new"))
    assert response.context["form"].errors["new_agent_agency_name"] == ["エージェント会社名を入力してください。"]
    assert Agent.objects.count() == 0


def test_edit_updates_and_keeps_own_email(recruiter_client, company, candidate):
    data = form_data(company, email="hanako@example.com", last_name="山田", first_name="花")
    response = recruiter_client.post(reverse("candidates:edit", args=[candidate.pk]), data, follow=True)
    candidate.refresh_from_db()
    assert candidate.first_name == "花"
    assert "更新しました" in response.content.decode()


def test_edit_refreshes_search_text(recruiter_client, company, candidate):
    recruiter_client.post(reverse("candidates:edit", args=[candidate.pk]), form_data(company, university="名古屋大学"))
    candidate.refresh_from_db()
    assert "名古屋大学" in candidate.search_text


def test_edit_to_an_email_another_candidate_has_is_refused(recruiter_client, company, candidate):
    make_candidate(company, email="other@example.com")
    response = recruiter_client.post(
        reverse("candidates:edit", args=[candidate.pk]), form_data(company, email="other@example.com")
    )
    assert response.context["form"].errors["email"] == ["このメールアドレスの候補者はすでに登録されています。"]


def test_detail_shows_every_field(recruiter_client, company):
    agent = Agent.objects.create(
        company=company, agency_name="株式会社キャリア", contact_name="佐野", contact_email="s@a.example.com"
    )
    candidate = make_candidate(company, phone="090-0000-1111", faculty="法学部", memo="面接の印象◎", agent=agent)
    body = recruiter_client.get(reverse("candidates:detail", args=[candidate.pk])).content.decode()
    for text in (
        "山田 花子",
        "ヤマダ ハナコ",
        "hanako@example.com",
        "090-0000-1111",
        "東京大学",
        "法学部",
        "2027年卒",
        "エントリー",
        "株式会社キャリア",
        "佐野",
        "s@a.example.com",
        "面接の印象◎",
        "登録日時",
        "更新日時",
        "基本情報",
    ):
        assert text in body, text


def test_delete_asks_for_confirmation_first(recruiter_client, candidate):
    response = recruiter_client.get(reverse("candidates:delete", args=[candidate.pk]))
    assert "山田 花子さんを削除しますか？" in response.content.decode()
    assert Candidate.objects.filter(pk=candidate.pk).exists()


def test_delete_removes_the_candidate(recruiter_client, candidate):
    response = recruiter_client.post(reverse("candidates:delete", args=[candidate.pk]), follow=True)
    assert not Candidate.objects.filter(pk=candidate.pk).exists()
    assert "山田 花子さんを削除しました。" in response.content.decode()
    assert AuditEvent.objects.filter(action="candidate.delete").exists()
