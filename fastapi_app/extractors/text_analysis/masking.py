"""Masking of resident registration and card numbers: the raw numbers never persist."""

from __future__ import annotations

import re

from fastapi_app.extractors.text_analysis.identifiers import CARD_NUMBER, RESIDENT_NUMBER, luhn_valid


def mask_resident(match: re.Match[str]) -> str:
    return f"{match[1]}{match[2]}{match[3]}-{match[4]}******"


def resident_plausible(match: re.Match[str]) -> bool:
    month, day = int(match[2]), int(match[3])
    return 1 <= month <= 12 and 1 <= day <= 31


def mask_card(raw: str) -> str:
    total = sum(ch.isdigit() for ch in raw)
    seen = 0
    out = []
    for ch in raw:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - 4 else "*")
        else:
            out.append(ch)
    return "".join(out)


def card_candidate(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def mask_sensitive(text: str) -> str:
    """Mask resident registration numbers (900101-1******) and card numbers (****-****-****-1234)."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = RESIDENT_NUMBER.sub(lambda m: mask_resident(m) if resident_plausible(m) else m[0], text)
    return CARD_NUMBER.sub(lambda m: mask_card(m[0]) if card_candidate(m[0]) else m[0], text)


def needs_masking(text: str) -> bool:
    if any(resident_plausible(m) for m in RESIDENT_NUMBER.finditer(text)):
        return True
    return any(card_candidate(m[0]) for m in CARD_NUMBER.finditer(text))
