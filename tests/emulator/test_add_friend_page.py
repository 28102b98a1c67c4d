"""line.me's add-friend page (`/R/ti/p/%40basicId`): a persona adds the OA from a browser and the
app gets the same follow webhook as from the control API."""

import re
from urllib.parse import urljoin

import pytest
import requests
from linebot.v3.webhooks import FollowEvent

from tests.emulator.test_login import authorize_url
from tests.emulator.test_webhooks import parse
from tests.line_emulator_fixtures import callback_params

CALLBACK = "http://testserver/line/callback/"


@pytest.fixture
def pair(line_emulator, receiver):
    """A linked pair whose persona has never added the OA, with the OA's webhook going to `receiver`."""
    return line_emulator.create_linked_pair(callback_url=CALLBACK, webhook_url=receiver.url)


def page_url(line_emulator, basic_id: str) -> str:
    return f"{line_emulator.base_url}/R/ti/p/{basic_id.replace('@', '%40')}"


def form_fields(html: str) -> dict[str, str]:
    """The add-friend form's CSRF token and hidden fields."""
    form = re.search(r'<form method="post" action="([^"]+)" data-step="web-add-friend">(.*?)</form>', html, re.S)
    assert form, "no add-friend form on the page"
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2))
    return {"_action": form.group(1), **dict(hidden)}


def add(session: requests.Session, url: str, **fields: str) -> requests.Response:
    """Load the page and press 友だち追加, as a browser does; returns the POST's answer (not followed)."""
    page = session.get(url)
    assert page.status_code == 200
    form = form_fields(page.text)
    action = urljoin(url, form.pop("_action"))
    return session.post(action, data={**form, "action": "add", **fields}, allow_redirects=False)


def test_a_persona_picked_on_the_page_adds_the_oa_and_the_app_gets_a_follow(line_emulator, pair, receiver):
    session, url = requests.Session(), page_url(line_emulator, pair.basic_id)
    page = session.get(url)
    assert page.status_code == 200
    assert pair.oa_display_name in page.text and pair.basic_id in page.text
    assert f'name="persona_id" value="{pair.persona_id}"' in page.text  # the picker: nobody logged in
    assert "line.me（エミュレーター）" in page.text

    answer = add(session, url, persona_id=pair.persona_id)

    assert answer.status_code == 302
    assert line_emulator.user(pair.messaging_channel_id, pair.persona_id)["friend_state"] == "following"
    [request] = receiver.wait_for(1)
    [event] = parse(request, pair.messaging_channel_secret)
    assert isinstance(event, FollowEvent) and event.follow.is_unblocked is False
    assert event.source.user_id == pair.user_id and event.reply_token
    done = session.get(urljoin(url, answer.headers["Location"]))
    assert done.status_code == 200 and "友だち追加しました" in done.text
    assert f'href="/phone/{pair.persona_id}"' in done.text
    # Picking an account logged this browser in: the next visit knows who it is.
    assert f'data-logged-in="{pair.persona_id}"' in session.get(url).text


def test_the_raw_at_sign_form_of_the_link_works_too(line_emulator, pair):
    page = requests.get(f"{line_emulator.base_url}/R/ti/p/{pair.basic_id}")
    assert page.status_code == 200 and pair.oa_display_name in page.text


def test_a_browser_logged_in_through_line_login_adds_as_that_persona(line_emulator, pair, receiver):
    session = requests.Session()
    login_url = authorize_url(line_emulator.base_url, pair.login_channel_id, bot_prompt="aggressive")
    location = line_emulator.login_in_browserless(session, login_url, pair.persona_id, add_friend=False)
    assert callback_params(location)["friendship_status_changed"] == "false"
    url = page_url(line_emulator, pair.basic_id)

    page = session.get(url)
    assert f'data-logged-in="{pair.persona_id}"' in page.text and "山田 花子" in page.text
    assert form_fields(page.text)["persona_id"] == pair.persona_id  # no picker, one button
    answer = add(session, url)

    assert answer.status_code == 302
    [request] = receiver.wait_for(1)
    [event] = parse(request, pair.messaging_channel_secret)
    assert isinstance(event, FollowEvent) and event.source.user_id == pair.user_id
    assert line_emulator.user(pair.messaging_channel_id, pair.persona_id)["friend_state"] == "following"


def test_adding_a_blocked_oa_unblocks_it(line_emulator, pair, receiver):
    line_emulator.follow(pair.messaging_channel_id, pair.persona_id)
    line_emulator.block(pair.messaging_channel_id, pair.persona_id)
    receiver.wait_for(2)
    session, url = requests.Session(), page_url(line_emulator, pair.basic_id)

    answer = add(session, url, persona_id=pair.persona_id)

    [*_, request] = receiver.wait_for(3)
    [event] = parse(request, pair.messaging_channel_secret)
    assert isinstance(event, FollowEvent) and event.follow.is_unblocked is True
    done = session.get(urljoin(url, answer.headers["Location"]))
    assert "ブロックを解除して友だち追加しました" in done.text


def test_an_existing_friend_is_told_so_and_no_event_is_sent(line_emulator, pair, receiver):
    line_emulator.follow(pair.messaging_channel_id, pair.persona_id)
    receiver.wait_for(1)
    session, url = requests.Session(), page_url(line_emulator, pair.basic_id)

    answer = add(session, url, persona_id=pair.persona_id)

    done = session.get(urljoin(url, answer.headers["Location"]))
    assert "すでに友だちです" in done.text
    again = session.get(url)  # now logged in as the persona: said on the page itself, no button
    assert "すでに友だちです" in again.text and 'data-step="web-add-friend"' not in again.text
    assert len(line_emulator.events(pair.messaging_channel_id)) == 1  # only the first follow


def test_no_persona_chosen_is_refused_and_the_form_needs_its_csrf_token(line_emulator, pair):
    session, url = requests.Session(), page_url(line_emulator, pair.basic_id)
    refused = add(session, url)
    assert refused.status_code == 400 and "友だち追加するアカウントを選んでください。" in refused.text
    forged = requests.post(url, data={"persona_id": pair.persona_id, "action": "add"}, allow_redirects=False)
    assert forged.status_code == 403
    assert line_emulator.user(pair.messaging_channel_id, pair.persona_id)["friend_state"] == "none"


@pytest.mark.parametrize("basic_id", ["%40000nobody", "@000nobody", "000nobody"])
def test_an_unknown_basic_id_is_a_japanese_404(line_emulator, pair, basic_id):
    page = requests.get(f"{line_emulator.base_url}/R/ti/p/{basic_id}")
    assert page.status_code == 404
    assert "公式アカウントが見つかりません" in page.text


def test_the_console_links_to_the_emulated_add_friend_page(line_emulator, pair):
    url = page_url(line_emulator, pair.basic_id)
    settings_tab = requests.get(f"{line_emulator.base_url}/console/channels/{pair.messaging_channel_id}?tab=messaging")
    assert f'href="{url}"' in settings_tab.text
    assert f"https://line.me/R/ti/p/{pair.basic_id.replace('@', '%40')}" in settings_tab.text
