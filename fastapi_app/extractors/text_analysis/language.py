"""Which language a text is in (ko, en or mixed), from the share of Hangul words."""

from __future__ import annotations

import re

from fastapi_app.extractors.text_analysis.identifiers import EMAIL, URL

_WORDS = re.compile(r"[\uac00-\ud7a3]+|[A-Za-z]+")


def detect_language(text: str) -> str | None:
    """ko, en or mixed, by words: a Korean word is 2-3 syllables, an English one 5 letters, so
    counting letters would call a Korean invoice with an e-mail address "mixed"."""
    hangul = latin = 0
    sample = EMAIL.sub(" ", URL.sub(" ", text[:200_000]))  # addresses say nothing of the language
    for word in _WORDS.findall(sample):
        if "\uac00" <= word[0] <= "\ud7a3":
            hangul += 1
        else:
            latin += 1
    words = hangul + latin
    if words == 0 or (hangul == 0 and latin < 2):
        return None
    share = hangul / words
    if share >= 0.7:
        return "ko"
    if share <= 0.1:
        return "en"
    return "mixed"
