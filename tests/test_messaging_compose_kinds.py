"""Kinds of send the apps above register (イベント案内, 日程調整…): the compose screen with what
the send is about, the list's bulk action, and the refusals when nothing is chosen."""

import pytest

from candidates import extensions
from candidates.models import Stage
from messaging import kinds, placeholders
from messaging.kinds import ComposeKind
from messaging.models import Kind, Send
from messaging.placeholders import Placeholder
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


def stage_choices(company) -> list[tuple[int, str]]:
    return list(Stage.objects.filter(company=company).order_by("position").values_list("pk", "name"))


def stage_name(recipient: placeholders.Recipient) -> str | None:
    stage = recipient.scope.related(Stage, "stage")
    return stage.name if stage else None


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    kind = ComposeKind(
        Kind.EVENT_INVITATION,
        "イベント案内",
        context_key="stage",
        context_label="選考ステップ",
        choices=stage_choices,
        initial_subject="【{{企業名}}】{{ステップ名}}のご案内",
        initial_body="{{候補者氏名}}様\n{{ステップ名}}のご案内です。",
    )
    monkeypatch.setitem(kinds._registry, kind.kind, kind)
    placeholder = Placeholder(
        "ステップ名", "選考ステップ", needs="stage", needs_label="選考ステップ", value=stage_name, per_candidate=False
    )
    monkeypatch.setitem(placeholders._registry, placeholder.name, placeholder)
    action = extensions.BulkAction("イベント案内", "messaging:compose_bulk", query="kind=event_invitation")
    monkeypatch.setitem(extensions._bulk_actions, action.key, action)


def test_the_candidate_list_offers_the_kind_as_a_bulk_action(recruiter_client, candidate):
    page = recruiter_client.get("/candidates/").content.decode()
    assert 'formaction="/messages/compose/?kind=event_invitation"' in page
    assert 'formaction="/messages/compose/"' in page  # the plain message stays


def test_the_compose_screen_asks_what_the_send_is_about(recruiter_client, company, candidate):
    stage = Stage.objects.filter(company=company).order_by("position").first()
    page = recruiter_client.post("/messages/compose/?kind=event_invitation", {"ids": [candidate.pk]}).content.decode()
    assert "イベント案内" in page and 'name="about"' in page
    assert f'<option value="{stage.pk}">{stage.name}</option>' in page
    assert "{{ステップ名}}" in page  # its placeholders are offered, and its starting text filled in


def test_sending_without_choosing_is_refused_with_a_message(recruiter_client, candidate):
    response = recruiter_client.post(
        "/messages/compose/?kind=event_invitation",
        {"compose": "1", "ids": [candidate.pk], "subject": "件名", "body": "本文", "timing": "now"},
    )
    assert response.status_code == 200
    assert "選考ステップを選んでください。" in response.content.decode()
    assert not Send.objects.exists()


def test_the_chosen_object_becomes_the_sends_context(recruiter_client, company, candidate):
    stage = Stage.objects.filter(company=company).order_by("position").first()
    response = recruiter_client.post(
        "/messages/compose/?kind=event_invitation",
        {
            "compose": "1",
            "kind": "event_invitation",
            "ids": [candidate.pk],
            "about": stage.pk,
            "subject": "{{ステップ名}}のご案内",
            "body": "本文",
            "timing": "now",
        },
    )
    send = Send.objects.get()
    assert response.status_code == 302
    assert (send.kind, send.context) == (Kind.EVENT_INVITATION, {"stage": stage.pk})
    assert send.subject == "{{ステップ名}}のご案内"


def test_another_companys_object_cannot_be_chosen(recruiter_client, other_company, candidate):
    foreign = Stage.objects.filter(company=other_company).first()
    response = recruiter_client.post(
        "/messages/compose/?kind=event_invitation",
        {"compose": "1", "ids": [candidate.pk], "about": foreign.pk, "subject": "件", "body": "本", "timing": "now"},
    )
    assert response.status_code == 200 and not Send.objects.exists()


def test_an_unregistered_kind_is_404(recruiter_client, candidate):
    assert recruiter_client.post("/messages/compose/?kind=nonsense", {"ids": [candidate.pk]}).status_code == 404


def test_the_single_candidate_compose_takes_the_kind_too(recruiter_client, company):
    candidate = make_candidate(company, email="one@example.com")
    page = recruiter_client.get(f"/messages/compose/candidate/{candidate.pk}/?kind=event_invitation").content.decode()
    assert "さんにイベント案内を送信" in page and 'name="about"' in page
