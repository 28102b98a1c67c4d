"""LINE status on the candidate screens: the list filter and row icons, the detail badge, the
「LINE友達登録」 tab, and the one-click re-send of an invitation (through the sending pipeline)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from line_integration.friends.invitations import hash_token, issue_invitation
from line_integration.models import FriendInvitation, LineAccount, LineIntegration, LineLoginAttempt
from messaging.models import Send
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(company) -> LineIntegration:
    return LineIntegration.objects.create(
        company=company,
        status=LineIntegration.Status.LINKED,
        login_channel_id="1234567890",
        messaging_channel_id="2345678901",
        bot_basic_id="@abc1234",
    )


def befriend(candidate, state: str, n: int) -> LineAccount:
    return LineAccount.objects.create(
        company_id=candidate.company_id,
        candidate=candidate,
        line_user_id="U" + f"{n:x}" * 32,
        display_name=f"LINE表示名{n}",
        picture_url="https://profile.line-scdn.net/abc",
        friend_state=state,
        state_changed_at=timezone.now(),
    )


@pytest.fixture
def people(company, linked):
    now = timezone.now()
    made = {
        "friend": make_candidate(company, email="f@example.com", last_name="友達"),
        "blocked": make_candidate(company, email="b@example.com", last_name="拒否"),
        "not_friend": make_candidate(company, email="n@example.com", last_name="未追加"),
        "invited": make_candidate(company, email="i@example.com", last_name="招待"),
        "expired": make_candidate(company, email="e@example.com", last_name="期限"),
        "nothing": make_candidate(company, email="z@example.com", last_name="無印"),
    }
    befriend(made["friend"], LineAccount.FriendState.FRIEND, 1)
    befriend(made["blocked"], LineAccount.FriendState.BLOCKED, 2)
    befriend(made["not_friend"], LineAccount.FriendState.NOT_FRIEND, 3)
    issue_invitation(made["friend"], now=now - timedelta(days=30))  # an old link of a friend
    issue_invitation(made["invited"], now=now - timedelta(days=30))  # expired, and
    issue_invitation(made["invited"], now=now - timedelta(days=1))  # a fresh one
    issue_invitation(made["expired"], now=now - timedelta(days=8))
    return made


def listed(client, **params) -> set[str]:
    response = client.get("/candidates/", params)
    assert response.status_code == 200
    html = response.content.decode()
    return set(re.findall(r'href="/candidates/\d+/">([^<]+)</a>', html))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("friend", {"friend"}),
        ("blocked", {"blocked"}),
        ("not_friend", {"not_friend"}),
        ("unlinked", {"invited", "expired", "nothing"}),
        ("invited", {"invited"}),
        ("invitation_expired", {"expired"}),
    ],
)
def test_the_list_filters_by_line_status(recruiter_client, people, value, expected):
    names = {people[key].name for key in expected}

    assert listed(recruiter_client, line=value) == names


def test_an_unknown_line_status_is_ignored(recruiter_client, people):
    assert len(listed(recruiter_client, line="bogus")) == len(people)


def test_the_filter_is_offered_with_japanese_labels(recruiter_client, people):
    html = recruiter_client.get("/candidates/").content.decode()

    select = html[html.index('name="line"') :]
    select = select[: select.index("</select>")]
    for label in ("友達", "ブロック", "未連携", "招待中", "招待期限切れ"):
        assert f">{label}</option>" in select


def test_the_filter_never_shows_another_companys_candidates(recruiter_client, people, other_company):
    outsider = make_candidate(other_company, email="x@example.com", last_name="他社")
    befriend(outsider, LineAccount.FriendState.FRIEND, 9)

    assert listed(recruiter_client, line="friend") == {people["friend"].name}


def test_each_row_shows_its_line_icon(recruiter_client, people):
    html = recruiter_client.get("/candidates/").content.decode()

    assert html.count('visually-hidden">LINE友達</span>') == 1
    assert html.count('visually-hidden">LINEブロック</span>') == 1
    assert html.count('visually-hidden">LINE未友達</span>') == 1


def test_the_list_costs_the_same_queries_whatever_the_number_of_friends(
    recruiter_client, company, linked, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(2):
        befriend(make_candidate(company, email=f"a{n}@example.com"), LineAccount.FriendState.FRIEND, n + 1)
    with CaptureQueriesContext(connection) as few:
        recruiter_client.get("/candidates/")
    for n in range(2, 12):
        befriend(make_candidate(company, email=f"a{n}@example.com"), LineAccount.FriendState.FRIEND, n + 1)
    with CaptureQueriesContext(connection) as many:
        recruiter_client.get("/candidates/")

    assert len(many.captured_queries) == len(few.captured_queries)


# --- detail page -------------------------------------------------------------------------------


def badge_after_email(client, candidate) -> str:
    html = client.get(f"/candidates/{candidate.pk}/").content.decode()
    after_email = html[html.index('id="candidate-email"') :]
    return after_email[: after_email.index("</div>")]


def test_the_detail_page_shows_line_friend_right_of_the_email(recruiter_client, people):
    assert "LINE友達" in badge_after_email(recruiter_client, people["friend"])


def test_the_detail_page_shows_blocked(recruiter_client, people):
    badge = badge_after_email(recruiter_client, people["blocked"])

    assert "ブロック" in badge and "LINE友達</a>" not in badge


def test_the_detail_page_shows_not_yet_a_friend(recruiter_client, people):
    assert "未友達" in badge_after_email(recruiter_client, people["not_friend"])


def test_the_detail_page_shows_no_line_badge_for_an_unlinked_candidate(recruiter_client, people):
    assert "data-line-badge" not in badge_after_email(recruiter_client, people["nothing"])


def test_the_line_tab_shows_the_profile_and_says_it_cannot_be_unregistered(recruiter_client, people):
    html = recruiter_client.get(f"/candidates/{people['friend'].pk}/line-friend/").content.decode()

    assert "LINE表示名1" in html
    assert 'src="https://profile.line-scdn.net/abc"' in html
    assert "解除することはできません" in html
    assert "解除する</button>" not in html


def test_the_line_tab_lists_the_invitations_with_their_state(recruiter_client, people):
    html = recruiter_client.get(f"/candidates/{people['invited'].pk}/line-friend/").content.decode()

    table = html[html.index("data-invitations") :]
    assert table.count("<tr>") == 3  # header + two invitations
    assert ">有効</span>" in table and ">期限切れ</span>" in table
    assert "LINE友達登録はまだです" in html


def test_the_line_tab_explains_failed_logins(recruiter_client, people, company):
    invitation = FriendInvitation.objects.filter(candidate=people["invited"]).first()
    LineLoginAttempt.objects.create(
        company=company,
        invitation=invitation,
        state_hash="a" * 64,
        nonce="n",
        created_at=timezone.now(),
        expires_at=timezone.now(),
        used_at=timezone.now(),
        outcome=LineLoginAttempt.Outcome.FAILED,
        failure_reason="line_error:access_denied",
    )

    html = recruiter_client.get(f"/candidates/{people['invited'].pk}/line-friend/").content.decode()

    assert "候補者がLINEの画面でキャンセルしました" in html


# --- re-send -----------------------------------------------------------------------------------


def test_resend_mails_a_fresh_invitation_through_the_pipeline(
    recruiter_client, people, django_capture_on_commit_callbacks
):
    candidate = people["expired"]
    with django_capture_on_commit_callbacks(execute=True):
        response = recruiter_client.post(f"/messages/candidates/{candidate.pk}/friend-invitation/")

    assert response.status_code == 302 and response["Location"] == f"/candidates/{candidate.pk}/line-friend/"
    send = Send.objects.get()
    assert send.include_friend_invitation and send.recipient_count == 1
    [email] = mail.outbox
    assert "e@example.com" in email.to[0]
    urls = re.findall(r"http\S+/line/friend/[\w-]+/", str(email.body))
    assert len(urls) == 1
    fresh = FriendInvitation.objects.filter(candidate=candidate).order_by("-created_at").first()
    assert fresh.is_valid_at(timezone.now())
    assert fresh.token_hash == hash_token(urls[0].split("/line/friend/")[1].rstrip("/"))


def test_resend_is_refused_for_a_registered_candidate(recruiter_client, people):
    response = recruiter_client.post(f"/messages/candidates/{people['friend'].pk}/friend-invitation/", follow=True)

    assert "友達登録済みのため" in response.content.decode()
    assert not Send.objects.exists()


def test_resend_is_refused_when_the_company_is_not_linked(recruiter_client, people, linked):
    linked.status = LineIntegration.Status.UNLINKED
    linked.save()

    response = recruiter_client.post(f"/messages/candidates/{people['nothing'].pk}/friend-invitation/", follow=True)

    assert "連携中" in response.content.decode()
    assert not Send.objects.exists()


def test_resend_needs_a_post(recruiter_client, people):
    assert recruiter_client.get(f"/messages/candidates/{people['nothing'].pk}/friend-invitation/").status_code == 405


def test_the_tab_disables_the_resend_button_for_a_registered_candidate(recruiter_client, people):
    html = recruiter_client.get(f"/candidates/{people['friend'].pk}/line-friend/").content.decode()

    assert "data-resend-invitation" not in html
    assert "友達登録URLを送信</button>" in html and "disabled" in html
