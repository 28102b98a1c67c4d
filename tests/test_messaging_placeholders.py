"""The placeholder registry the apps above messaging add to: values drawn from what the send
is about, personal links minted only as each message goes out, and refusals at compose time
instead of a message with a gap."""

from typing import Any

import pytest
from django.core import mail

from candidates.models import Agent, Stage
from messaging import placeholders
from messaging.models import Channel, Delivery, Kind, Message
from messaging.placeholders import Placeholder, Recipient, SendScope
from messaging.sending import compose
from messaging.sending.compose import ComposeError, Draft
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db

minted: list[tuple[int | None, str]] = []


def stage_name(recipient: placeholders.Recipient) -> str | None:
    stage = recipient.scope.related(Stage, "stage")
    return stage.name if stage else None


def university(recipient: placeholders.Recipient) -> str | None:
    candidate = recipient.candidate
    return candidate.university or None if candidate else None


def stage_link(recipient: placeholders.Recipient, token: str, now) -> str:
    minted.append((recipient.candidate_id, token))
    return f"http://testserver/s/{token}/"


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    minted.clear()
    for placeholder in (
        Placeholder(
            "ステップ名",
            "選考ステップの名前",
            needs="stage",
            needs_label="選考ステップ",
            value=stage_name,
            per_candidate=False,
        ),
        Placeholder("大学名", "候補者の大学", value=university),
        Placeholder("ステップURL", "候補者ごとのURL", needs="stage", needs_label="選考ステップ", link=stage_link),
    ):
        monkeypatch.setitem(placeholders._registry, placeholder.name, placeholder)


def draft(**fields) -> Draft:
    values: dict[str, Any] = {
        "kind": Kind.BULK,
        "subject": "{{ステップ名}}のご案内",
        "body": "{{候補者氏名}}様\n{{ステップ名}}です。",
    }
    values.update(fields)
    return Draft(**values)


def create(company, recruiter, candidates, **fields):
    return compose.create_send(draft(**fields), company=company, user=recruiter, candidates=[c.pk for c in candidates])


def first_stage(company) -> Stage:
    return Stage.objects.filter(company=company).order_by("position").first()


def test_a_value_placeholder_is_filled_from_what_the_send_is_about(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    stage = first_stage(company)
    with django_capture_on_commit_callbacks(execute=True):
        send = create(company, recruiter, [candidate], context={"stage": stage.pk})
    assert send.context == {"stage": stage.pk}
    [email] = mail.outbox
    assert email.subject == f"{stage.name}のご案内"
    assert f"{stage.name}です。" in email.body
    assert Message.objects.get(send=send).body == f"山田 花子様\n{stage.name}です。"


def test_a_placeholder_needing_a_context_is_refused_without_one(company, recruiter, candidate):
    with pytest.raises(ComposeError) as refused:
        create(company, recruiter, [candidate])
    assert "{{ステップ名}} は選考ステップを選んだときだけ使えます。" in refused.value.errors["body"]


def test_another_companys_object_gives_no_value_and_the_send_is_refused(company, other_company, recruiter, candidate):
    foreign = first_stage(other_company)
    with pytest.raises(ComposeError) as refused:
        create(company, recruiter, [candidate], context={"stage": foreign.pk})
    assert "{{ステップ名}} に差し込む値がありません。" in refused.value.errors["body"]


def test_recipients_without_a_per_candidate_value_are_named_and_nothing_is_written(company, recruiter):
    with_one = make_candidate(company, email="a@example.com", university="京都大学")
    without = [make_candidate(company, email=f"n{i}@example.com", last_name=f"空{i}", university="") for i in range(4)]
    with pytest.raises(ComposeError) as refused:
        create(company, recruiter, [with_one, *without], subject="ご案内", body="{{大学名}}の皆さま")
    [message] = refused.value.errors["body"]
    assert message.startswith(
        "{{大学名}} に差し込む値がない宛先があります（空0 花子さん、空1 花子さん、空2 花子さんほか1名）"
    )
    assert not Message.objects.exists()


def test_a_personal_link_is_minted_when_the_email_goes_out_and_never_stored(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    stage = first_stage(company)
    with django_capture_on_commit_callbacks(execute=True):
        send = create(company, recruiter, [candidate], body="こちらから：{{ステップURL}}", context={"stage": stage.pk})
    [(candidate_id, token)] = minted
    assert candidate_id == candidate.pk
    assert f"http://testserver/s/{token}/" in mail.outbox[0].body
    delivery = Delivery.objects.get(send=send, channel=Channel.EMAIL)
    assert "{{ステップURL}}" in delivery.rendered_body and token not in delivery.rendered_body
    assert Message.objects.get(send=send).body == "こちらから：（ステップURL）"


def test_every_attempt_of_one_delivery_mints_the_same_token(company, candidate):
    delivery_id = Delivery._meta.pk.default()
    assert placeholders.link_token(delivery_id, "ステップURL") == placeholders.link_token(delivery_id, "ステップURL")
    assert placeholders.link_token(delivery_id, "ステップURL") != placeholders.link_token(delivery_id, "別のURL")


def test_a_personal_link_is_refused_in_the_subject_and_for_agents(company, recruiter):
    stage = first_stage(company)
    agent = Agent.objects.create(company=company, agency_name="エージェント社", contact_email="agent@example.com")
    candidate = make_candidate(company, agent=agent)
    with pytest.raises(ComposeError) as refused:
        create(company, recruiter, [candidate], subject="{{ステップURL}}", body="本文", context={"stage": stage.pk})
    assert "件名にURLは入れられません" in refused.value.errors["subject"][0]
    with pytest.raises(ComposeError) as refused:
        create(
            company,
            recruiter,
            [candidate],
            body="{{ステップURL}}",
            recipient_type="agent",
            context={"stage": stage.pk},
        )
    assert "エージェント宛てには送れません" in refused.value.errors["body"][0]


def test_a_line_friend_gets_the_same_minted_link_on_line(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    stage = first_stage(linked_company)
    with django_capture_on_commit_callbacks(execute=True):
        send = create(
            linked_company,
            recruiter,
            [line_friend_candidate],
            subject="ご案内",
            body="{{ステップURL}}",
            send_line=True,
            context={"stage": stage.pk},
        )
    line = Delivery.objects.get(send=send, channel=Channel.LINE)
    assert line.status == "sent" and line.line_texts == ["ご案内\n\n{{ステップURL}}"]
    [entry] = line_emulator.outbox(line_pair.messaging_channel_id)
    tokens = {token for _, token in minted}
    assert len(tokens) == 2  # one per delivery (email, LINE): each is its own personal link
    assert any(entry["messages"][0]["text"] == f"ご案内\n\nhttp://testserver/s/{t}/" for t in tokens)


def test_a_name_registered_again_is_a_more_specific_source_asked_first(company):
    saved, saved_sources = dict(placeholders._registry), dict(placeholders._sources)
    try:
        placeholders.register(Placeholder("テスト段階", "全体", value=lambda r: "全体"))
        placeholders.register(
            Placeholder("テスト段階", "面接", value=lambda r: "面接" if r.candidate_id == 1 else None)
        )
        placeholders.register(
            Placeholder("テスト段階", "結果", needs="result", needs_label="選考結果", value=lambda r: "結果")
        )
        found = placeholders.get("テスト段階")
        assert found is not None and found.value is not None and found.available_in({})
        plain, notice = SendScope(company, "採用担当"), SendScope(company, "採用担当", context={"result": 5})
        assert [found.value(Recipient(plain, 1)), found.value(Recipient(plain, 2))] == ["面接", "全体"]
        assert found.value(Recipient(notice, 1)) == "結果"
    finally:
        placeholders._registry.clear()
        placeholders._registry.update(saved)
        placeholders._sources.clear()
        placeholders._sources.update(saved_sources)
