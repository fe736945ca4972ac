"""Identifiers and contacts: e-mail, URL, phone, business registration, resident and card numbers,
with their checksums."""

from __future__ import annotations

import re

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+", re.I)
BUSINESS_NUMBER = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{5})(?![\d-])")
RESIDENT_NUMBER = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})\s?-\s?([1-8])(\d{6})(?![\d-])")
CARD_NUMBER = re.compile(r"(?<![\d-])(?:\d{4}[ -]){3}\d{1,7}(?![\d-])|(?<![\d-])\d{13,19}(?![\d-])")
PHONE_KR = re.compile(
    r"(?<![\d+-])(?:\(?0(?:1[016789]|2|[3-6][1-5]|70|50\d?)\)?[-. )]?\d{3,4}[-. ]?\d{4}|1[5-9]\d{2}-\d{4})(?![\d-])"
)
PHONE_PLUS = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ -]?\(?\d{1,4}\)?){2,6}(?![\d-])")


def business_number_valid(digits: str) -> bool:
    """The Korean business registration number checksum (weights 1,3,7,1,3,7,1,3,5)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    total = sum(int(d) * w for d, w in zip(digits[:9], weights, strict=True))
    total += int(digits[8]) * 5 // 10
    return (10 - total % 10) % 10 == int(digits[9])


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def normalize_phone(raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("+"):
        if digits.startswith("820"):
            digits = "82" + digits[3:]
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if digits.startswith("0") and 9 <= len(digits) <= 11:
        return f"+82{digits[1:]}"
    if len(digits) == 8 and digits[0] == "1":  # 1588-1234: nationwide numbers have no area code
        return digits
    return None
