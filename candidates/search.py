"""Search normalisation shared by the stored `Candidate.search_text` and the user's query.

Both sides go through `normalize()`, so full-width/half-width forms, upper/lower case and
hiragana/katakana all compare equal: 「やまだ」 finds 「ヤマダ」, 「ＴＡＲＯ」 finds 「taro」.
"""

import unicodedata

# ぁ (U+3041) .. ゖ (U+3096) map to ァ .. ヶ, 0x60 code points higher.
_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}

# pg_trgm cannot use its index for a term shorter than one trigram; such terms match at the
# start of a field (a name, kana, email or university) instead of anywhere. See listing.py.
MIN_SUBSTRING_LENGTH = 3


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().translate(_HIRAGANA_TO_KATAKANA)


def to_katakana(text: str) -> str:
    """Kana fields are stored in full-width katakana whatever the recruiter or the CSV typed."""
    return unicodedata.normalize("NFKC", text).translate(_HIRAGANA_TO_KATAKANA).strip()


def search_terms(query: str) -> list[str]:
    """Whitespace-separated terms (NFKC turns the ideographic space into a plain one)."""
    return normalize(query).split()


def build_search_text(
    *, last_name: str, first_name: str, last_name_kana: str, first_name_kana: str, email: str, university: str
) -> str:
    """One lower-cased, space-separated text with a leading space.

    The full name and kana are stored without their space (so 「山田花子」 matches) and the
    given name again on its own (so a short term can match the start of it); a query with a
    space is split into terms that must all match, so 「山田 花子」 matches too. The leading
    space lets `LIKE '% term%'` find a field that starts with a short term.
    """
    parts = [
        last_name + first_name,
        first_name,
        last_name_kana + first_name_kana,
        first_name_kana,
        email,
        university,
    ]
    fields = [normalize(part).replace(" ", "") if index < 4 else normalize(part) for index, part in enumerate(parts)]
    return " " + " ".join(field for field in fields if field)
