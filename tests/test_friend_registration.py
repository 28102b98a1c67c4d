"""Friend registration end to end: the candidate's browser (requests) walks our pages and the
emulator's LINE Login pages through every redirect, against the live server, so the emulator's
follow webhook reaches our webhook view like LINE's would."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from hrmos.models import AuditEvent, Company
from line_integration.friends.invitations import hash_token
from line_integration.models import (
    FriendInvitation,
    LineAccount,
    LineIntegration,
    LineLoginAttempt,
    LineWebhookEvent,
)
from tests.conftest import make_candidate, make_recruiter
from tests.friend_registration_support import (
    ADD_FRIEND_TEXT,
    COMPLETE_TEXT,
    FAILURE_TEXT,
    CandidateBrowser,
    fake_line_api,
    invite,
    link_company,
    query_of,
    without_param,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(live_server, settings) -> str:
    """SITE_URL is the live server, so callback and webhook URLs point at it."""
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture
def pair(site, line_emulator, company, recruiter):
    # The add-friend follow webhook is delivered before LINE redirects back, unless a test says
    # otherwise: in-memory SQLite shares one connection between the live server's threads, so
    # a webhook racing the callback would be a test artefact there (PostgreSQL runs race it).
    line_emulator.set_settings(follow_webhook_delay_ms=-50)
    return link_company(line_emulator, company, recruiter)


@pytest.fixture
def browser(line_emulator):
    browser = CandidateBrowser(line_emulator)
    yield browser
    browser.session.close()


def follow_events(company: Company, user_id: str):
    return LineWebhookEvent.objects.filter(company=company, source_user_id=user_id, event_type="follow")


# --- success ---------------------------------------------------------------------------------


def test_it_links_the_candidate_when_the_follow_webhook_comes_before_the_callback(
    pair, browser, line_emulator, candidate, company
):
    line_emulator.set_settings(follow_webhook_delay_ms=-100)
    url = invite(candidate)

    authorize = browser.press_login(url)
    callback = browser.through_line(authorize, pair.persona_id)
    # LINE's follow webhook is already here, for a user no candidate has yet: kept, not lost.
    assert follow_events(company, pair.user_id).get().outcome == "unlinked"
    assert query_of(callback)["friendship_status_changed"] == "true"

    page = browser.back_to_app(callback)

    assert page.status_code == 200 and COMPLETE_TEXT in page.text
    account = LineAccount.objects.get(candidate=candidate)
    assert account.company == company
    assert account.line_user_id == pair.user_id
    assert account.display_name == "山田 花子"
    assert account.friend_state == LineAccount.FriendState.FRIEND
    assert FriendInvitation.objects.get(candidate=candidate).used_at is not None
    assert LineLoginAttempt.objects.get().outcome == LineLoginAttempt.Outcome.LINKED


def test_it_links_the_candidate_when_the_follow_webhook_comes_after_the_callback(
    pair, browser, line_emulator, candidate, company
):
    line_emulator.set_settings(follow_webhook_delay_ms=700)

    page = browser.register(invite(candidate), pair.persona_id)

    assert COMPLETE_TEXT in page.text
    assert not follow_events(company, pair.user_id).exists()  # still on its way
    attempts = line_emulator.wait_for_attempts(pair.messaging_channel_id, 1, timeout=10)
    assert [attempt["status_code"] for attempt in attempts] == [200]
    event = follow_events(company, pair.user_id).get()
    assert event.outcome in {"stale", "friend"}  # older than the friendship check, or applied
    assert LineAccount.objects.get(candidate=candidate).friend_state == LineAccount.FriendState.FRIEND


def test_a_registration_ticks_the_login_channel_steps_of_the_settings_checklist(
    pair, browser, candidate, client, recruiter
):
    client.force_login(recruiter)
    settings_page = reverse("line:settings")
    assert client.get(settings_page).content.decode().count("data-checked") == 0

    assert COMPLETE_TEXT in browser.register(invite(candidate), pair.persona_id).text

    # The callback URL is registered, the channel is usable and LINE offered the add-friend
    # option (the Official Account is linked): 3 of the console steps proven.
    html = client.get(settings_page).content.decode()
    assert html.count("data-checked") == 3
    oa_step = next(item for item in html.split("<li") if "LINE公式アカウントをリンク" in item)
    assert "data-checked" in oa_step


def test_a_registration_without_a_linked_official_account_leaves_that_step_unticked(
    pair, browser, line_emulator, candidate, client, recruiter
):
    line_emulator.set_channel(pair.login_channel_id, linked_oa=None)
    client.force_login(recruiter)

    browser.register(invite(candidate), pair.persona_id, add_friend=False)

    assert client.get(reverse("line:settings")).content.decode().count("data-checked") == 2


def test_a_follow_stored_before_the_link_decides_when_the_friendship_api_fails(
    pair, browser, line_emulator, candidate, company, settings
):
    line_emulator.set_settings(follow_webhook_delay_ms=-100)
    authorize = browser.press_login(invite(candidate))
    callback = without_param(browser.through_line(authorize, pair.persona_id), "friendship_status_changed")

    with fake_line_api(line_emulator.base_url) as api:
        api.fail["/friendship/v1/status"] = 500
        settings.LINE_API_BASE = api.url
        page = browser.back_to_app(callback)

    assert any(path.startswith("/friendship/") for _, path, _ in api.seen)
    assert COMPLETE_TEXT in page.text
    assert LineAccount.objects.get(candidate=candidate).friend_state == LineAccount.FriendState.FRIEND


def test_without_the_friendship_api_or_a_stored_follow_the_candidate_is_not_yet_a_friend(
    pair, browser, line_emulator, candidate, settings
):
    authorize = browser.press_login(invite(candidate))
    callback = browser.through_line(authorize, pair.persona_id, add_friend=False)

    with fake_line_api(line_emulator.base_url) as api:
        api.fail["/friendship/v1/status"] = 500
        settings.LINE_API_BASE = api.url
        page = browser.back_to_app(callback)

    assert ADD_FRIEND_TEXT in page.text
    assert LineAccount.objects.get(candidate=candidate).friend_state == LineAccount.FriendState.NOT_FRIEND


def test_a_failing_profile_api_falls_back_to_the_id_tokens_name(pair, browser, line_emulator, candidate, settings):
    callback = browser.through_line(browser.press_login(invite(candidate)), pair.persona_id)

    with fake_line_api(line_emulator.base_url) as api:
        api.fail["/v2/profile"] = 500
        settings.LINE_API_BASE = api.url
        page = browser.back_to_app(callback)

    assert COMPLETE_TEXT in page.text
    assert LineAccount.objects.get(candidate=candidate).display_name == "山田 花子"


def test_a_candidate_who_skips_add_friend_gets_the_add_friend_page_and_a_later_follow_completes_it(
    pair, browser, line_emulator, candidate, company
):
    page = browser.register(invite(candidate), pair.persona_id, add_friend=False)

    assert page.status_code == 200 and ADD_FRIEND_TEXT in page.text
    assert f"{line_emulator.base_url}/R/ti/p/%40" in page.text  # the OA's add-friend link (LINE_WEB_BASE)
    account = LineAccount.objects.get(candidate=candidate)
    assert account.friend_state == LineAccount.FriendState.NOT_FRIEND

    line_emulator.follow(pair.messaging_channel_id, pair.persona_id)
    assert line_emulator.wait_for_webhooks(timeout=10)

    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND
    reloaded = browser.get(page.url)  # 「登録状況を確認する」
    assert COMPLETE_TEXT in reloaded.text


def test_the_authorize_request_carries_what_line_login_needs(pair, browser, candidate, company):
    authorize = browser.press_login(invite(candidate))

    params = query_of(authorize)
    assert authorize.startswith(f"{browser.emulator.base_url}/oauth2/v2.1/authorize?")
    assert params["response_type"] == "code"
    assert params["client_id"] == pair.login_channel_id
    assert params["redirect_uri"] == pair.callback_url
    assert params["scope"] == "openid profile"
    assert params["bot_prompt"] == "aggressive"
    assert params["ui_locales"] == "ja"
    assert params["prompt"] == "consent"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert params["state"].isalnum() and len(params["state"]) == 64
    assert params["nonce"]


def test_the_state_is_stored_hashed_and_the_verifier_encrypted(pair, browser, candidate):
    authorize = browser.press_login(invite(candidate))

    attempt = LineLoginAttempt.objects.get()
    state = query_of(authorize)["state"]
    assert attempt.state_hash != state and len(attempt.state_hash) == 64
    with connection.cursor() as cursor:
        cursor.execute("SELECT state_hash, code_verifier FROM line_integration_lineloginattempt")
        stored_hash, stored_verifier = cursor.fetchone()
    assert state not in stored_hash
    assert attempt.code_verifier not in stored_verifier  # ciphertext, not the verifier
    assert attempt.expires_at - attempt.created_at == timedelta(minutes=10)


def test_the_verifier_is_dropped_once_the_callback_used_it(pair, browser, candidate):
    browser.register(invite(candidate), pair.persona_id)

    assert LineLoginAttempt.objects.get().code_verifier == ""


def test_the_token_is_stored_only_as_its_hash(candidate, linked_company):
    url = invite(candidate)

    token = url.rstrip("/").rsplit("/", 1)[1]
    invitation = FriendInvitation.objects.get()
    assert invitation.token_hash == hash_token(token)
    assert token not in invitation.token_hash


# --- the link itself -------------------------------------------------------------------------


def test_a_second_link_for_a_registered_candidate_shows_only_the_completion_page(pair, browser, candidate):
    browser.register(invite(candidate), pair.persona_id)
    first_again, second = invite(candidate), invite(candidate)

    for url in (first_again, second):
        page = browser.get(url)
        assert page.status_code == 200
        assert COMPLETE_TEXT in page.text
        assert "<form" not in page.text  # no way to log in again
    # A landing page left open from before the registration, pressed now (its CSRF token is valid).
    csrf = {"csrfmiddlewaretoken": browser.session.cookies["csrftoken"]}
    pressed = browser.session.post(second, data=csrf, allow_redirects=False, timeout=30)
    assert pressed.status_code == 200 and COMPLETE_TEXT in pressed.text
    assert LineLoginAttempt.objects.count() == 1
    assert LineAccount.objects.count() == 1


def test_the_used_link_itself_shows_the_completion_page(pair, browser, candidate):
    url = invite(candidate)
    browser.register(url, pair.persona_id)

    page = browser.get(url)

    assert page.status_code == 200 and COMPLETE_TEXT in page.text


def test_a_link_expires_7_days_after_sending(pair, browser, line_emulator, candidate):
    url = invite(candidate)
    invitation = FriendInvitation.objects.get()
    line_emulator.advance_clock(7 * 24 * 3600 + 1)

    with time_machine.travel(invitation.created_at + timedelta(days=7, seconds=1)):
        page = browser.get(url)

    assert page.status_code == 410
    assert "このURLの有効期限が" in page.text and "新しいURLをお申し込みください" in page.text
    assert "<form" not in page.text
    assert not LineLoginAttempt.objects.exists()


def test_a_link_is_still_valid_one_second_before_it_expires(pair, browser, candidate):
    url = invite(candidate)
    invitation = FriendInvitation.objects.get()

    with time_machine.travel(invitation.created_at + timedelta(days=7, seconds=-1)):
        page = browser.get(url)

    assert page.status_code == 200 and "LINEでログインして友達登録" in page.text


def test_an_unknown_link_says_the_link_is_invalid_not_expired(site, browser):
    page = browser.get(f"{site}/line/friend/not-a-real-token/")

    assert page.status_code == 404
    assert "無効なリンクです" in page.text and "有効期限" not in page.text


def test_the_token_never_leaves_our_origin_through_the_referrer(pair, browser, candidate):
    page = browser.get(invite(candidate))
    redirect = browser.submit_landing_form(invite(candidate))

    # The landing page's form needs a real Origin for its CSRF check: same-origin (a
    # cross-origin request gets no referrer); the redirect to LINE sends none at all.
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page.text
    assert "no-store" in page.headers["Cache-Control"]
    assert redirect.status_code == 302 and redirect.headers["Referrer-Policy"] == "no-referrer"


def test_the_other_candidate_pages_send_no_referrer(site, browser):
    page = browser.get(f"{site}/line/friend/not-a-real-token/")

    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="referrer" content="no-referrer">' in page.text


def test_a_forged_post_without_the_csrf_token_starts_no_login(pair, browser, candidate):
    """Login CSRF: another site posting to a candidate's link must not send the visitor's
    browser to LINE Login for that candidate."""
    response = browser.submit_landing_form(invite(candidate), with_hidden_fields=False)

    assert response.status_code == 403
    assert "ページの有効期限が切れました" in response.text  # our page, in Japanese
    assert not LineLoginAttempt.objects.exists()


def test_a_post_from_another_origin_starts_no_login(pair, browser, candidate, site):
    url = invite(candidate)
    page = browser.get(url)
    token = browser.session.cookies["csrftoken"]

    response = browser.session.post(
        url,
        data={"csrfmiddlewaretoken": token},
        headers={"Origin": "https://attacker.example"},
        allow_redirects=False,
        timeout=30,
    )

    assert page.status_code == 200 and response.status_code == 403
    assert not LineLoginAttempt.objects.exists()


def test_opening_the_link_does_not_start_a_login(pair, browser, candidate):
    """Mail scanners GET links: only the button (a POST) creates an attempt."""
    browser.get(invite(candidate))
    browser.get(invite(candidate))

    assert not LineLoginAttempt.objects.exists()


def test_a_company_that_is_not_linked_shows_a_friendly_page(pair, browser, candidate, company):
    url = invite(candidate)
    LineIntegration.objects.filter(company=company).update(status=LineIntegration.Status.UNLINKED)

    page = browser.get(url)

    assert page.status_code == 503 and "LINE友達登録を受け付けていません" in page.text


# --- failures --------------------------------------------------------------------------------


def test_cancel_shows_the_failure_page_and_the_link_stays_usable(pair, browser, candidate):
    url = invite(candidate)
    authorize = browser.press_login(url)
    callback = browser.through_line(authorize, pair.persona_id, cancel=True)
    assert query_of(callback)["error"] == "ACCESS_DENIED"

    page = browser.back_to_app(callback)

    assert page.status_code == 400 and FAILURE_TEXT in page.text
    assert not LineAccount.objects.exists()
    assert FriendInvitation.objects.get().used_at is None
    assert LineLoginAttempt.objects.get().failure_reason == "line_error:access_denied"
    retry = next(link for link in browser.links(page) if "/line/friend/retry/" in link)
    finished = browser.back_to_app(browser.through_line(browser.press_login(retry), pair.persona_id))
    assert COMPLETE_TEXT in finished.text
    assert LineAccount.objects.get().candidate == candidate


def test_a_lower_case_error_is_a_failure_too(pair, browser, candidate, site, company):
    authorize = browser.press_login(invite(candidate))
    state = query_of(authorize)["state"]

    page = browser.get(f"{site}/line/callback/{company.public_id}/?error=access_denied&state={state}")

    assert page.status_code == 400 and FAILURE_TEXT in page.text
    assert LineLoginAttempt.objects.get().failure_reason == "line_error:access_denied"
    assert FriendInvitation.objects.get().used_at is None


def test_a_bad_state_is_refused_and_stores_nothing(pair, browser, candidate):
    authorize = browser.press_login(invite(candidate))
    callback = browser.through_line(authorize, pair.persona_id)
    forged = callback.replace(query_of(callback)["state"], "0" * 64)

    page = browser.back_to_app(forged)

    assert page.status_code == 400 and FAILURE_TEXT in page.text
    assert "/line/friend/retry/" not in page.text  # no attempt known: back to the email's link
    assert not LineAccount.objects.exists()
    assert FriendInvitation.objects.get().used_at is None
    assert LineLoginAttempt.objects.get().used_at is None


def test_a_missing_state_is_refused(pair, browser, site, company):
    page = browser.get(f"{site}/line/callback/{company.public_id}/?code=abc")

    assert page.status_code == 400 and FAILURE_TEXT in page.text


def test_a_replayed_callback_fails_cleanly(pair, browser, candidate):
    authorize = browser.press_login(invite(candidate))
    callback = browser.through_line(authorize, pair.persona_id)
    assert COMPLETE_TEXT in browser.back_to_app(callback).text

    replay = browser.back_to_app(callback)

    assert replay.status_code == 400 and FAILURE_TEXT in replay.text
    assert LineAccount.objects.count() == 1
    assert LineLoginAttempt.objects.get().outcome == LineLoginAttempt.Outcome.LINKED


def test_a_replayed_callback_from_another_browser_fails_too(pair, browser, candidate, line_emulator):
    callback = browser.through_line(browser.press_login(invite(candidate)), pair.persona_id)
    browser.back_to_app(callback)
    other = CandidateBrowser(line_emulator)

    assert FAILURE_TEXT in other.back_to_app(callback).text
    assert LineAccount.objects.count() == 1


def test_a_callback_in_a_browser_without_the_session_still_links(pair, browser, candidate, line_emulator):
    """Mail app → LINE app → default browser: the attempt row carries the binding."""
    callback = browser.through_line(browser.press_login(invite(candidate)), pair.persona_id)
    other = CandidateBrowser(line_emulator)

    page = other.back_to_app(callback)

    assert COMPLETE_TEXT in page.text
    assert LineLoginAttempt.objects.get().session_matched is None


def test_a_callback_in_a_browser_that_started_another_login_is_refused(pair, browser, candidate, line_emulator):
    callback = browser.through_line(browser.press_login(invite(candidate)), pair.persona_id)
    other = CandidateBrowser(line_emulator)
    other.press_login(invite(make_candidate(candidate.company, email="other@example.com")))

    page = other.back_to_app(callback)

    assert FAILURE_TEXT in page.text
    assert not LineAccount.objects.exists()
    assert LineLoginAttempt.objects.get(invitation__candidate=candidate).failure_reason == "session_mismatch"


def test_a_login_not_finished_within_10_minutes_fails(pair, browser, candidate):
    callback = browser.through_line(browser.press_login(invite(candidate)), pair.persona_id)

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        page = browser.back_to_app(callback)

    assert FAILURE_TEXT in page.text
    assert LineLoginAttempt.objects.get().failure_reason == "attempt_expired"
    assert not LineAccount.objects.exists()


def test_a_failed_token_exchange_shows_the_failure_page(pair, browser, candidate, line_emulator, settings):
    callback = browser.through_line(browser.press_login(invite(candidate)), pair.persona_id)

    with fake_line_api(line_emulator.base_url) as api:
        api.fail["/oauth2/v2.1/token"] = 500
        settings.LINE_API_BASE = api.url
        page = browser.back_to_app(callback)

    assert page.status_code == 400 and FAILURE_TEXT in page.text
    assert LineLoginAttempt.objects.get().failure_reason == "token:server_error"
    assert not LineAccount.objects.exists()
    assert FriendInvitation.objects.get().used_at is None


def test_a_callback_for_an_unknown_company_is_404(site, browser):
    assert browser.get(f"{site}/line/callback/nosuchcompany/?code=a&state={'0' * 64}").status_code == 404


def test_next_parameters_are_ignored(pair, browser, candidate):
    url = invite(candidate) + "?next=https://evil.example/"
    authorize = browser.press_login(url)
    assert "evil" not in authorize
    callback = browser.through_line(authorize, pair.persona_id) + "&next=https://evil.example/"

    response = browser.get(callback)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/line/friend/result/")


# --- one LINE user, one candidate --------------------------------------------------------------


def test_a_line_user_already_linked_to_another_candidate_is_refused(pair, browser, candidate, company, line_emulator):
    browser.register(invite(candidate), pair.persona_id)
    second = make_candidate(company, email="second@example.com", last_name="佐藤", first_name="次郎")
    other_browser = CandidateBrowser(line_emulator)

    page = other_browser.register(invite(second), pair.persona_id)

    assert page.status_code == 409
    assert "すでに別の方の登録に使われている" in page.text
    assert "山田" not in page.text  # never tells who holds it
    assert not LineAccount.objects.filter(candidate=second).exists()
    assert FriendInvitation.objects.get(candidate=second).used_at is None
    attempt = LineLoginAttempt.objects.get(invitation__candidate=second)
    assert attempt.outcome == LineLoginAttempt.Outcome.CONFLICT
    assert attempt.conflicting_candidate == candidate
    audit = AuditEvent.objects.get(action="line_friend.conflict")
    assert audit.data["candidate_id"] == second.pk and audit.data["registered_candidate_id"] == candidate.pk


def test_the_conflict_shows_on_both_candidates_pages(pair, browser, candidate, company, recruiter, line_emulator):
    from django.test import Client

    browser.register(invite(candidate), pair.persona_id)
    second = make_candidate(company, email="second@example.com", last_name="佐藤", first_name="次郎")
    CandidateBrowser(line_emulator).register(invite(second), pair.persona_id)
    recruiter_client = Client()
    recruiter_client.force_login(recruiter)

    refused = recruiter_client.get(f"/candidates/{second.pk}/line-friend/").content.decode()
    holder = recruiter_client.get(f"/candidates/{candidate.pk}/line-friend/").content.decode()
    detail = recruiter_client.get(f"/candidates/{second.pk}/").content.decode()

    assert "LINE友達登録を受け付けませんでした" in refused and "山田 花子" in refused
    assert "同じLINEアカウントで別の候補者が登録しようとしました" in holder and "佐藤 次郎" in holder
    assert 'data-line-badge="conflict"' in detail


@pytest.mark.postgres  # real concurrent transactions; in-memory SQLite shares one connection
def test_concurrent_callbacks_for_one_invitation_link_once(pair, candidate, line_emulator):
    url = invite(candidate)
    first, second = CandidateBrowser(line_emulator), CandidateBrowser(line_emulator)
    callbacks = [b.through_line(b.press_login(url), pair.persona_id) for b in (first, second)]
    pages: list = [None, None]

    def finish(index: int) -> None:
        pages[index] = (first, second)[index].back_to_app(callbacks[index])

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert LineAccount.objects.count() == 1
    assert all(COMPLETE_TEXT in page.text for page in pages)
    outcomes = sorted(LineLoginAttempt.objects.values_list("outcome", flat=True))
    assert outcomes == ["already_registered", "linked"]


# --- block / unblock ---------------------------------------------------------------------------


def test_unfollow_then_follow_unblocked_update_the_friend_state(pair, browser, candidate, line_emulator, company):
    browser.register(invite(candidate), pair.persona_id)
    account = LineAccount.objects.get(candidate=candidate)

    line_emulator.block(pair.messaging_channel_id, pair.persona_id)
    assert line_emulator.wait_for_webhooks(timeout=10)
    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.BLOCKED

    line_emulator.unblock(pair.messaging_channel_id, pair.persona_id)
    assert line_emulator.wait_for_webhooks(timeout=10)
    account.refresh_from_db()
    assert account.friend_state == LineAccount.FriendState.FRIEND
    unblocked = follow_events(company, pair.user_id).order_by("-timestamp").first()
    assert unblocked.payload["follow"]["isUnblocked"] is True


# --- tenants -----------------------------------------------------------------------------------


def test_a_link_for_company_a_can_never_link_a_candidate_of_company_b(
    site, line_emulator, browser, company, recruiter, other_company, other_company_recruiter, candidate
):
    pair_a = link_company(line_emulator, company, recruiter)
    link_company(line_emulator, other_company, other_company_recruiter, persona_name="別の人")
    candidate_b = make_candidate(other_company, email="b@example.com")
    invite(candidate_b)

    authorize = browser.press_login(invite(candidate))
    assert query_of(authorize)["redirect_uri"].endswith(f"/line/callback/{company.public_id}/")
    callback = browser.through_line(authorize, pair_a.persona_id)
    at_b = callback.replace(company.public_id, other_company.public_id)

    refused = browser.back_to_app(at_b)

    assert FAILURE_TEXT in refused.text
    assert not LineAccount.objects.exists()
    assert LineLoginAttempt.objects.get().used_at is None  # B's URL never even found A's attempt
    assert COMPLETE_TEXT in browser.back_to_app(callback).text
    account = LineAccount.objects.get()
    assert account.candidate == candidate and account.company == company
    assert not LineAccount.objects.filter(company=other_company).exists()


def test_deleting_the_candidate_removes_the_line_link(pair, browser, candidate):
    browser.register(invite(candidate), pair.persona_id)

    candidate.delete()

    assert not LineAccount.objects.exists()
    assert not FriendInvitation.objects.exists()
    assert not LineLoginAttempt.objects.exists()


# --- logs --------------------------------------------------------------------------------------


def test_logs_never_contain_the_token_state_code_or_tokens(pair, browser, candidate, caplog):
    caplog.set_level(logging.DEBUG)
    url = invite(candidate)
    token = url.rstrip("/").rsplit("/", 1)[1]
    browser.submit_landing_form(url, with_hidden_fields=False)  # a CSRF refusal logs the path
    expired = invite(candidate, now=timezone.now() - timedelta(days=8))
    assert browser.get(expired).status_code == 410  # Django logs a 4xx with its path
    authorize = browser.press_login(url)
    callback = browser.through_line(authorize, pair.persona_id)
    browser.back_to_app(callback)
    browser.back_to_app(callback)  # a replay, logged as a failure

    secrets = [token, query_of(authorize)["state"], query_of(authorize)["nonce"], query_of(callback)["code"]]
    secrets.append(expired.rstrip("/").rsplit("/", 1)[1])
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Friend registration" in logged
    assert "Forbidden (CSRF token missing.): /line/friend/…/" in logged
    assert "Gone: /line/friend/…/" in logged
    for secret in secrets:
        assert secret not in logged


def test_a_recruiter_cannot_reach_another_companys_tab(pair, candidate, client, other_company):
    client.force_login(make_recruiter(other_company, "outsider2"))

    assert client.get(f"/candidates/{candidate.pk}/line-friend/").status_code == 404
