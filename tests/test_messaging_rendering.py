"""Placeholders and the LINE copy: pure functions, no database."""

import pytest

from messaging import rendering
from messaging.rendering import RecipientContext

CONTEXT = RecipientContext(last_name="山田", first_name="花子", company_name="株式会社テスト", sender_name="採用 太郎")


def test_placeholders_are_filled_per_recipient():
    text = rendering.render("{{候補者氏名}}様（{{姓}}・{{名}}）\n{{企業名}} {{送信者名}}", CONTEXT.values())
    assert text == "山田 花子様（山田・花子）\n株式会社テスト 採用 太郎"


def test_spaces_inside_the_braces_are_allowed():
    assert rendering.render("{{ 候補者氏名 }}", CONTEXT.values()) == "山田 花子"


def test_unknown_placeholders_are_reported_once_each():
    assert rendering.unknown_placeholders("{{氏名}} {{会社}}", "{{氏名}} {{姓}}") == ["氏名", "会社"]


def test_friend_url_is_unknown_without_the_invitation_option():
    assert rendering.unknown_placeholders("{{LINE友達登録URL}}", allow_friend_url=False) == ["LINE友達登録URL"]
    assert rendering.unknown_placeholders("{{LINE友達登録URL}}", allow_friend_url=True) == []


def test_line_copy_is_subject_blank_line_body():
    rendered = rendering.render_for_recipient("面接のご案内", "{{姓}}様\n本文", CONTEXT, friend_invitation=False)
    assert rendered.line_texts == ["面接のご案内\n\n山田様\n本文"]


def test_invitation_url_is_appended_with_an_explanation_when_the_body_has_no_placeholder():
    rendered = rendering.render_for_recipient("件名", "本文です。", CONTEXT, friend_invitation=True)
    assert rendered.email_body.endswith("{{LINE友達登録URL}}\n")
    assert rendering.FRIEND_URL_EXPLANATION in rendered.email_body
    # The timeline copy never holds the URL (nor its token): it shows a stand-in.
    assert rendering.FRIEND_URL_STANDIN in rendered.timeline_body
    assert "{{" not in rendered.timeline_body


def test_invitation_url_goes_where_the_placeholder_is():
    rendered = rendering.render_for_recipient(
        "件名", "登録はこちら：{{LINE友達登録URL}} です", CONTEXT, friend_invitation=True
    )
    assert "登録はこちら：{{LINE友達登録URL}} です" in rendered.email_body
    assert rendering.FRIEND_URL_EXPLANATION not in rendered.email_body


def test_text_over_5000_characters_is_split_into_up_to_five_messages():
    body = ("あ" * 99 + "\n") * 120  # 12,000 characters
    parts = rendering.line_copy("件名", body)
    assert 2 <= len(parts) <= 5
    assert all(len(p) <= rendering.LINE_TEXT_LIMIT for p in parts)
    assert "".join(parts) == rendering.line_text("件名", body)


def test_text_without_line_breaks_is_cut_at_5000():
    parts = rendering.split_for_line("い" * 25_000)
    assert [len(p) for p in parts] == [5000] * 5


def test_text_longer_than_five_messages_is_refused():
    with pytest.raises(ValueError):
        rendering.split_for_line("う" * 25_001)
