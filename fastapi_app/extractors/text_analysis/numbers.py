"""Numbers and amounts as written in Korean and Western documents, with their currency."""

from __future__ import annotations

import re

_CURRENCY_WORDS = {
    "원": "KRW", "₩": "KRW", "￦": "KRW", "krw": "KRW", "won": "KRW",
    "$": "USD", "usd": "USD", "us$": "USD", "달러": "USD",
    "€": "EUR", "eur": "EUR", "유로": "EUR",
    "£": "GBP", "gbp": "GBP",
    "¥": "JPY", "jpy": "JPY", "엔": "JPY",
    "cny": "CNY", "위안": "CNY",
    "inr": "INR", "rs.": "INR", "rs": "INR", "₹": "INR",
}  # fmt: skip
_NUM = r"\d{1,3}(?:[,.\u00a0 ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_PREFIX_CUR = r"₩|￦|US\$|\$|€|£|¥|₹|KRW|USD|EUR|GBP|JPY|CNY|INR|Rs\.?"
_SUFFIX_CUR = r"원|KRW|USD|EUR|GBP|JPY|CNY|INR|€|\$|달러|유로|위안"
AMOUNT_PREFIX = re.compile(rf"(?<![\w.])(?P<cur>{_PREFIX_CUR})\s?(?P<num>-?(?:{_NUM}))(?![\d])", re.I)
AMOUNT_SUFFIX = re.compile(rf"(?<![\w.,])(?P<num>-?(?:{_NUM}))\s?(?P<cur>{_SUFFIX_CUR})(?![A-Za-z])", re.I)
AMOUNT_KOREAN_UNIT = re.compile(r"(?<![\d.,])(?P<num>\d+(?:[.,]\d+)?)\s?(?P<unit>만|억|천만|천)\s?원")
# Money-like numbers with no currency sign (3,89 / 24.99 / 1.234,56): the currency comes from the document.
AMOUNT_BARE = re.compile(r"(?<![\w.,/:-])(?P<num>-?\d{1,3}(?:[.,\u00a0 ]\d{3})*[.,]\d{2})(?![\d%]|[.,/-]\d)")
KOREAN_UNITS = {"천": 1_000, "만": 10_000, "천만": 10_000_000, "억": 100_000_000}


def parse_number(raw: str, currency: str | None = None) -> float | None:
    """'1,100,000' -> 1100000, '34,73' -> 34.73, '1.234,56' -> 1234.56, '24.99' -> 24.99."""
    text = raw.replace("\u00a0", " ").strip()
    negative = text.startswith("-")
    text = text.lstrip("-").replace(" ", "")
    if not text:
        return None
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text:
        groups = text.split(",")
        text = text.replace(",", "") if len(groups) > 2 or len(groups[-1]) == 3 else text.replace(",", ".")
    elif "." in text:
        groups = text.split(".")
        # 1.234 is a thousand in KRW/EUR writing; 24.99 is a decimal everywhere.
        if len(groups) > 2 or (len(groups[-1]) == 3 and currency in {"KRW", "EUR", "JPY"}):
            text = text.replace(".", "")
    try:
        value = float(text)
    except ValueError:
        return None
    value = -value if negative else value
    return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 4)


def currency_code(token: str) -> str | None:
    return _CURRENCY_WORDS.get(token.lower()) or _CURRENCY_WORDS.get(token)
