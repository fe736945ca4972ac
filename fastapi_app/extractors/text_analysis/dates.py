"""Dates in the forms Korean and Western documents write them, as ISO dates."""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    **{m: i for i, m in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august", "september",
         "october", "november", "december"], 1)},
    **{m: i for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)},
    "sept": 9,
    **{m: i for i, m in enumerate(
        ["januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september",
         "oktober", "november", "dezember"], 1)},
    **{m: i for i, m in enumerate(
        ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
         "octobre", "novembre", "décembre"], 1)},
}  # fmt: skip
_MONTH_NAMES = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
DATE_KOREAN = re.compile(r"(?P<y>\d{4})\s*년\s*(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일")
# OCR spaces the parts of "2024. 3. 5." out now and then ("2024 . 3 . 5"): a space may precede a separator.
DATE_YMD = re.compile(r"(?<![\d.])(?P<y>\d{4}) ?(?P<sep>[-./])\s?(?P<m>\d{1,2}) ?(?P=sep)\s?(?P<d>\d{1,2})(?![\d])\.?")
DATE_DMY_DOTS = re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})(?![\d]|\.\d)")
# "20-10-2015" (Indian and European invoices): day first, as hyphenated dates with the year last are
# written; read month first only when the day-first reading is no date.
DATE_DMY_HYPHENS = re.compile(r"(?<![\d/-])(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<y>\d{4})(?![\d-])")
DATE_SLASH = re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?![\d/])")
DATE_D_MONTH_Y = re.compile(
    rf"(?<![\w])(?P<d>\d{{1,2}})(?:er)?\.?\s+(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>\d{{4}})", re.I
)
# "du 1er au 31 Juillet 2015", "1 to 15 March 2026": both ends of the range are dates.
DATE_DAY_RANGE = re.compile(
    rf"(?<![\w])(?P<d1>\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s*(?:au|to|bis|-|–|~)\s*(?P<d2>\d{{1,2}})\.?\s+"
    rf"(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>\d{{4}})",
    re.I,
)
DATE_MONTH_D_Y = re.compile(
    rf"(?<![\w])(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})(?!\d)", re.I
)


def make_date(year: int, month: int, day: int) -> str | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    if not 1900 <= year <= 2100:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def infer_slash_order(text: str) -> str:
    """'mdy' (03/15/2026) or 'dmy' (15/03/2026) for the whole document, from unambiguous dates."""
    mdy = dmy = 0
    for match in DATE_SLASH.finditer(text):
        a, b = int(match["a"]), int(match["b"])
        if a > 12 >= b:
            dmy += 1
        elif b > 12 >= a:
            mdy += 1
    return "dmy" if dmy > mdy else "mdy"
