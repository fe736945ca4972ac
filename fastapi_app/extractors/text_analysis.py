"""Language and (in a later issue) key values and entities, from any extracted text."""

from __future__ import annotations

from fastapi_app.extractors.base import ExtractionResult

_HANGUL_RANGES = ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F))


def _is_hangul(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _HANGUL_RANGES)


def detect_language(text: str) -> str | None:
    hangul = latin = 0
    for ch in text[:200_000]:
        if _is_hangul(ch):
            hangul += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    letters = hangul + latin
    if letters < 3:
        return None
    share = hangul / letters
    # Korean words are ~2-3 syllables vs ~5 Latin letters, so weigh Hangul up before deciding.
    if share >= 0.8:
        return "ko"
    if share <= 0.05:
        return "en"
    return "mixed"


def analyze(result: ExtractionResult) -> None:
    result.language = detect_language(result.text)
