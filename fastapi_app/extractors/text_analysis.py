"""Key information from any extracted text: language, key-value pairs and entities.

Runs on every result (PDF pages, OCR text, sheet cells). Resident registration and card numbers
are masked in every string of the result before it is stored: the raw numbers never persist.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi_app.extractors.base import Entity, ExtractionResult, KeyValue, Sheet, Table, column_letter

MAX_ENTITIES = 2_000
MAX_KEY_VALUES = 2_000
MAX_SHEET_ROWS_FOR_PAIRS = 500
# Entities and pairs are looked for in the first characters of each page or sheet: a 1M-cell
# sheet would otherwise cost seconds. Masking always looks at every string.
MAX_ANALYSIS_CHARS_PER_SEGMENT = 300_000

_WORDS = re.compile(r"[\uac00-\ud7a3]+|[A-Za-z]+")


def detect_language(text: str) -> str | None:
    """ko, en or mixed, by words: a Korean word is 2-3 syllables, an English one 5 letters, so
    counting letters would call a Korean invoice with an e-mail address "mixed"."""
    hangul = latin = 0
    sample = _EMAIL.sub(" ", _URL.sub(" ", text[:200_000]))  # addresses say nothing of the language
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


# --- numbers and amounts ------------------------------------------------------------------------

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
_AMOUNT_PREFIX = re.compile(rf"(?<![\w.])(?P<cur>{_PREFIX_CUR})\s?(?P<num>-?(?:{_NUM}))(?![\d])", re.I)
_AMOUNT_SUFFIX = re.compile(rf"(?<![\w.,])(?P<num>-?(?:{_NUM}))\s?(?P<cur>{_SUFFIX_CUR})(?![A-Za-z])", re.I)
_AMOUNT_KOREAN_UNIT = re.compile(r"(?<![\d.,])(?P<num>\d+(?:[.,]\d+)?)\s?(?P<unit>만|억|천만|천)\s?원")
# Money-like numbers with no currency sign (3,89 / 24.99 / 1.234,56): the currency comes from the document.
_AMOUNT_BARE = re.compile(r"(?<![\w.,/:-])(?P<num>-?\d{1,3}(?:[.,\u00a0 ]\d{3})*[.,]\d{2})(?![\d%]|[.,/-]\d)")
_KOREAN_UNITS = {"천": 1_000, "만": 10_000, "천만": 10_000_000, "억": 100_000_000}


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


def _currency(token: str) -> str | None:
    return _CURRENCY_WORDS.get(token.lower()) or _CURRENCY_WORDS.get(token)


# --- dates ---------------------------------------------------------------------------------------

_MONTHS = {
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
_MONTH_NAMES = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_DATE_KOREAN = re.compile(r"(?P<y>\d{4})\s*년\s*(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일")
_DATE_YMD = re.compile(r"(?<![\d.])(?P<y>\d{4})(?P<sep>[-./])\s?(?P<m>\d{1,2})(?P=sep)\s?(?P<d>\d{1,2})(?![\d])\.?")
_DATE_DMY_DOTS = re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})(?![\d]|\.\d)")
_DATE_SLASH = re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?![\d/])")
_DATE_D_MONTH_Y = re.compile(
    rf"(?<![\w])(?P<d>\d{{1,2}})(?:er)?\.?\s+(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>\d{{4}})", re.I
)
# "du 1er au 31 Juillet 2015", "1 to 15 March 2026": both ends of the range are dates.
_DATE_DAY_RANGE = re.compile(
    rf"(?<![\w])(?P<d1>\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s*(?:au|to|bis|-|–|~)\s*(?P<d2>\d{{1,2}})\.?\s+"
    rf"(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>\d{{4}})",
    re.I,
)
_DATE_MONTH_D_Y = re.compile(
    rf"(?<![\w])(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})(?!\d)", re.I
)


def _make_date(year: int, month: int, day: int) -> str | None:
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
    for match in _DATE_SLASH.finditer(text):
        a, b = int(match["a"]), int(match["b"])
        if a > 12 >= b:
            dmy += 1
        elif b > 12 >= a:
            mdy += 1
    return "dmy" if dmy > mdy else "mdy"


# --- identifiers, contacts ----------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+", re.I)
_BUSINESS_NUMBER = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{5})(?![\d-])")
_RESIDENT_NUMBER = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})\s?-\s?([1-8])(\d{6})(?![\d-])")
_CARD_NUMBER = re.compile(r"(?<![\d-])(?:\d{4}[ -]){3}\d{1,7}(?![\d-])|(?<![\d-])\d{13,19}(?![\d-])")
_PHONE_KR = re.compile(
    r"(?<![\d+-])(?:\(?0(?:1[016789]|2|[3-6][1-5]|70|50\d?)\)?[-. )]?\d{3,4}[-. ]?\d{4}|1[5-9]\d{2}-\d{4})(?![\d-])"
)
_PHONE_PLUS = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ -]?\(?\d{1,4}\)?){2,6}(?![\d-])")


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


# --- masking of sensitive numbers ---------------------------------------------------------------


def _mask_resident(match: re.Match[str]) -> str:
    return f"{match[1]}{match[2]}{match[3]}-{match[4]}******"


def _resident_plausible(match: re.Match[str]) -> bool:
    month, day = int(match[2]), int(match[3])
    return 1 <= month <= 12 and 1 <= day <= 31


def _mask_card(raw: str) -> str:
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


def _card_candidate(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def mask_sensitive(text: str) -> str:
    """Mask resident registration numbers (900101-1******) and card numbers (****-****-****-1234)."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _RESIDENT_NUMBER.sub(lambda m: _mask_resident(m) if _resident_plausible(m) else m[0], text)
    return _CARD_NUMBER.sub(lambda m: _mask_card(m[0]) if _card_candidate(m[0]) else m[0], text)


def _needs_masking(text: str) -> bool:
    if any(_resident_plausible(m) for m in _RESIDENT_NUMBER.finditer(text)):
        return True
    return any(_card_candidate(m[0]) for m in _CARD_NUMBER.finditer(text))


# --- entity finding -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Found:
    start: int
    end: int
    entity: Entity


class _Spans:
    """Character ranges already taken, so one piece of text is one entity (a date is no amount)."""

    def __init__(self) -> None:
        self.taken: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.taken)

    def take(self, start: int, end: int) -> None:
        self.taken.append((start, end))


def find_entities(
    text: str, *, page: int | None = None, sheet: str | None = None, slash_order: str = "mdy"
) -> list[Entity]:
    spans = _Spans()
    found: list[_Found] = []

    def add(match: re.Match[str], entity: Entity, group: int | str = 0) -> None:
        start, end = match.span(group)
        if spans.free(start, end):
            spans.take(start, end)
            entity.page, entity.sheet = page, sheet
            found.append(_Found(start, end, entity))

    for match in _RESIDENT_NUMBER.finditer(text):
        if _resident_plausible(match):
            add(match, Entity(type="resident_registration_number", text=_mask_resident(match), masked=True))
    for match in _CARD_NUMBER.finditer(text):
        if _card_candidate(match[0]):
            masked = _mask_card(match[0])
            add(match, Entity(type="card_number", text=masked, value=masked, masked=True, valid=True))
    for match in _EMAIL.finditer(text):
        add(match, Entity(type="email", text=match[0], value=match[0].lower()))
    for match in _URL.finditer(text):
        url = match[0].rstrip(".,;:!?")
        value = url if url.lower().startswith("http") else f"http://{url}"
        start = match.start()
        if spans.free(start, start + len(url)):
            spans.take(start, start + len(url))
            found.append(
                _Found(start, start + len(url), Entity(type="url", text=url, value=value, page=page, sheet=sheet))
            )
    for match in _BUSINESS_NUMBER.finditer(text):
        digits = "".join(match.groups())
        add(match, Entity(type="business_registration_number", text=match[0], value=match[0],
                          valid=business_number_valid(digits)))  # fmt: skip
    _find_dates(text, add, slash_order)
    for pattern in (_PHONE_PLUS, _PHONE_KR):
        for match in pattern.finditer(text):
            normalized = normalize_phone(match[0])
            if normalized:
                add(match, Entity(type="phone", text=match[0].strip(), value=normalized))
    _find_amounts(text, add)
    found.sort(key=lambda f: f.start)
    return [f.entity for f in found]


def _find_dates(text: str, add: Callable[..., None], slash_order: str) -> None:
    for match in _DATE_DAY_RANGE.finditer(text):
        month = _MONTHS.get(match["mon"].lower())
        first = _make_date(int(match["y"]), month, int(match["d1"])) if month else None
        last = _make_date(int(match["y"]), month, int(match["d2"])) if month else None
        if first and last:
            add(match, Entity(type="date", text=match[0], value=first), "d1")
            add(match, Entity(type="date", text=match[0], value=last), "d2")
    for match in _DATE_KOREAN.finditer(text):
        if iso := _make_date(int(match["y"]), int(match["m"]), int(match["d"])):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in _DATE_YMD.finditer(text):
        if iso := _make_date(int(match["y"]), int(match["m"]), int(match["d"])):
            add(match, Entity(type="date", text=match[0].rstrip("."), value=iso))
    for match in _DATE_D_MONTH_Y.finditer(text):
        month = _MONTHS.get(match["mon"].lower())
        if month and (iso := _make_date(int(match["y"]), month, int(match["d"]))):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in _DATE_MONTH_D_Y.finditer(text):
        month = _MONTHS.get(match["mon"].lower())
        if month and (iso := _make_date(int(match["y"]), month, int(match["d"]))):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in _DATE_DMY_DOTS.finditer(text):
        if iso := _make_date(int(match["y"]), int(match["m"]), int(match["d"])):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in _DATE_SLASH.finditer(text):
        a, b, year = int(match["a"]), int(match["b"]), int(match["y"])
        month, day = (b, a) if slash_order == "dmy" else (a, b)
        iso = _make_date(year, month, day) or _make_date(year, day, month)
        if iso:
            add(match, Entity(type="date", text=match[0], value=iso))


def _find_amounts(text: str, add: Callable[..., None]) -> None:
    for match in _AMOUNT_KOREAN_UNIT.finditer(text):
        number = parse_number(match["num"])
        if number is not None:
            value = number * _KOREAN_UNITS[match["unit"]]
            add(match, Entity(type="amount", text=match[0], value=int(value) if value == int(value) else value,
                              currency="KRW"))  # fmt: skip
    for pattern in (_AMOUNT_PREFIX, _AMOUNT_SUFFIX):
        for match in pattern.finditer(text):
            currency = _currency(match["cur"])
            number = parse_number(match["num"], currency)
            if number is not None and currency:
                add(match, Entity(type="amount", text=match[0].strip(), value=number, currency=currency))
    for match in _AMOUNT_BARE.finditer(text):
        number = parse_number(match["num"])
        if number is not None:
            add(match, Entity(type="amount", text=match[0], value=number))


# --- key-value pairs -----------------------------------------------------------------------------

_KNOWN_LABELS = [
    "송장번호", "송장 번호", "계산서번호", "거래번호", "주문번호", "견적번호", "문서번호", "승인번호",
    "발행일", "발행일자", "작성일자", "작성일", "거래일자", "납기일", "지급기한",
    "공급자", "공급받는자", "상호", "대표자", "사업자등록번호", "사업자번호", "담당자", "연락처", "전화",
    "이메일", "주소", "합계 금액", "합계금액", "합계", "총액", "총 금액", "공급가액", "부가세", "세액",
    "청구금액", "결제금액",
    "Invoice Number", "Invoice No.", "Invoice No", "Invoice #", "Invoice Date", "Due Date", "Order Number",
    "Order No.", "Order ID", "Customer ID", "Customer No.", "Account Number", "Total Due", "Amount Due",
    "Total Amount", "Grand Total", "Subtotal", "Sub Total", "Total", "VAT", "Tax", "Date", "Supplier",
    "Vendor", "Bill To", "Ship To", "Rechnungsnr.", "Rechnungsdatum", "Kundennr.", "Facture n°",
]  # fmt: skip
_KNOWN_LABEL_RE = re.compile(
    r"^\s*(?P<key>"
    + "|".join(re.escape(label) for label in sorted(_KNOWN_LABELS, key=len, reverse=True))
    + r")(?![\w])\s*[:：]?\s*(?P<value>[^\s:：].{0,150}?)\s*$",
    re.I,
)
_COLON_PAIR = re.compile(r"^\s*(?P<key>[^\W\d_][^:：\n]{0,39}?)\s*[:：]\s*(?P<value>\S.{0,200}?)\s*$")
_FIELD_SPLIT = re.compile(r"\s{3,}|\t|\s\|\s")


_AMOUNT_KEY = re.compile(
    r"합\s*계|금\s*액|단\s*가|공급가액|부가세|세\s*액|총\s*액|total|amount|price|vat|tax|sum", re.I
)


def _typed_value(value: str, slash_order: str, key: str = "") -> tuple[str | None, Any, str | None]:
    entities = find_entities(value, slash_order=slash_order)
    if len(entities) == 1 and len(entities[0].text) >= len(value.strip()) * 0.6:
        entity = entities[0]
        kind = {"business_registration_number": "id"}.get(entity.type, entity.type)
        return kind, entity.value, entity.currency
    numeric = re.fullmatch(r"-?[\d.,\s]+", value.strip()) is not None
    # "1100000" under 합계 is a number; under 송장번호 it is an identifier.
    if numeric and _AMOUNT_KEY.search(key) and (number := parse_number(value)) is not None:
        return "number", number, None
    if re.fullmatch(r"[A-Za-z]{0,6}[-#]?[A-Za-z0-9][A-Za-z0-9_\-/]*\d[A-Za-z0-9_\-/]*", value.strip()):
        return "id", value.strip(), None
    number = parse_number(value) if numeric else None
    if number is not None:
        return "number", number, None
    return "text", value.strip(), None


def _pair(key: str, value: str, slash_order: str, **where: Any) -> KeyValue | None:
    key = key.strip().rstrip(":：").strip()
    value = value.strip()
    if not key or not value or len(value) > 200 or not any(ch.isalpha() for ch in key):
        return None
    kind, normalized, currency = _typed_value(value, slash_order, key)
    return KeyValue(key=key, value=value, normalized=normalized, value_type=kind, currency=currency, **where)


def key_values_from_text(text: str, *, page: int | None = None, slash_order: str = "mdy") -> list[KeyValue]:
    pairs: list[KeyValue] = []
    for line in text.splitlines():
        for field in _FIELD_SPLIT.split(line):
            if not field.strip() or len(field) > 250:
                continue
            if match := _COLON_PAIR.match(field):
                pair = _pair(match["key"], match["value"], slash_order, source="text", page=page)
            elif match := _KNOWN_LABEL_RE.match(field):
                # Without a colon, a known label only counts when a typed value follows it
                # ("Invoice Number 42183017"), not prose ("Date limite de paiement ...").
                pair = _pair(match["key"], match["value"], slash_order, source="text", page=page)
                pair = pair if pair is not None and pair.value_type != "text" else None
            else:
                pair = None
            if pair is not None:
                pairs.append(pair)
    return pairs


def _is_label(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= 40 and any(ch.isalpha() for ch in value)


def key_values_from_sheet(sheet: Sheet, slash_order: str) -> list[KeyValue]:
    """Rows holding exactly a label and a value ("송장번호 | INV-1") outside the sheet's tables."""
    table_rows = {r for t in sheet.tables for r in _rows_of(t.cell_range)}
    pairs: list[KeyValue] = []
    for row_index, row in enumerate(sheet.rows[:MAX_SHEET_ROWS_FOR_PAIRS]):
        filled = [(col, value) for col, value in enumerate(row) if value not in (None, "")]
        if len(filled) != 2 or not _is_label(filled[0][1]):
            continue
        # Inside a table only its total row is a pair ("합계 금액 | | | 1,100,000").
        if row_index + 1 in table_rows and not _TOTAL_LABEL.search(str(filled[0][1])):
            continue
        (_, label), (value_col, value) = filled
        pair = _pair(str(label), str(value), slash_order, source="sheet", sheet=sheet.name,
                     cell=f"{column_letter(value_col)}{row_index + 1}")  # fmt: skip
        if pair is not None:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                pair.normalized, pair.value_type = value, pair.value_type if pair.value_type != "text" else "number"
            pairs.append(pair)
    return pairs


_TOTAL_LABEL = re.compile(r"합\s*계|총\s*계|총\s*액|소\s*계|total|sum|gesamt|somme", re.I)


def _rows_of(cell_range: str | None) -> range:
    match = re.fullmatch(r"[A-Z]+(\d+):[A-Z]+(\d+)", cell_range or "")
    return range(int(match[1]), int(match[2]) + 1) if match else range(0)


def key_values_from_table(table: Table, slash_order: str) -> list[KeyValue]:
    """Two-column tables are label/value lists."""
    rows = [table.header, *table.rows] if table.header else list(table.rows)
    pairs: list[KeyValue] = []
    for row in rows:
        cells = [c for c in row if c not in (None, "")]
        if len(cells) == 2 and _is_label(cells[0]):
            pair = _pair(str(cells[0]), str(cells[1]), slash_order, source="table", page=table.page, sheet=table.sheet)
            if pair is not None:
                pairs.append(pair)
    return pairs


# --- the whole result ---------------------------------------------------------------------------


def _segments(result: ExtractionResult) -> Iterator[tuple[str, int | None, str | None]]:
    if result.pdf and result.pdf.pages:
        for page in result.pdf.pages:
            yield page.text, page.number, None
    elif result.spreadsheet and result.spreadsheet.sheets:
        for sheet in result.spreadsheet.sheets:
            lines: list[str] = []
            size = 0
            for row in sheet.rows:
                line = "\t".join("" if v is None else str(v) for v in row)
                lines.append(line)
                size += len(line) + 1
                if size > MAX_ANALYSIS_CHARS_PER_SEGMENT:
                    break
            yield "\n".join(lines), None, sheet.name
    else:
        yield result.text, None, None


def _mask_everything(result: ExtractionResult) -> None:
    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return mask_sensitive(value)
        if isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = walk(item)
            return value
        if isinstance(value, dict):
            for key, item in value.items():
                value[key] = walk(item)
            return value
        if hasattr(value, "__pydantic_fields__"):
            for name in type(value).model_fields:
                setattr(value, name, walk(getattr(value, name)))
        return value

    for name in ("text", "pdf", "spreadsheet", "image", "key_values"):
        setattr(result, name, walk(getattr(result, name)))


def _dedupe(entities: list[Entity]) -> list[Entity]:
    seen: set[tuple[Any, ...]] = set()
    unique: list[Entity] = []
    for entity in entities:
        key = (entity.type, str(entity.value), entity.currency, entity.page, entity.sheet)
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return unique


def _dedupe_pairs(pairs: list[KeyValue]) -> list[KeyValue]:
    """A sheet's total row is found as a cell pair and again in its table: keep the first."""
    seen: set[tuple[str, str, int | None]] = set()
    unique = []
    for pair in pairs:
        normalized = pair.normalized
        if isinstance(normalized, float) and normalized.is_integer():
            normalized = int(normalized)
        key = (pair.key, str(normalized), pair.page)
        if key not in seen:
            seen.add(key)
            unique.append(pair)
    return unique


def analyze(result: ExtractionResult) -> None:
    result.language = detect_language(result.text)
    slash_order = infer_slash_order(result.text)
    entities: list[Entity] = []
    pairs: list[KeyValue] = []
    for text, page, sheet in _segments(result):
        if not text:
            continue
        text = text[:MAX_ANALYSIS_CHARS_PER_SEGMENT]
        entities.extend(find_entities(text, page=page, sheet=sheet, slash_order=slash_order))
        if sheet is None:
            pairs.extend(key_values_from_text(text, page=page, slash_order=slash_order))
    if result.spreadsheet:
        for sheet_model in result.spreadsheet.sheets:
            pairs.extend(key_values_from_sheet(sheet_model, slash_order))
            for table in sheet_model.tables:
                pairs.extend(key_values_from_table(table, slash_order))
    if result.pdf:
        for table in result.pdf.tables:
            pairs.extend(key_values_from_table(table, slash_order))

    # Amounts written without a currency take the document's own (EUR on a German invoice).
    currencies = [e.currency for e in entities if e.type == "amount" and e.currency]
    if currencies:
        dominant = max(set(currencies), key=currencies.count)
        for entity in entities:
            if entity.type == "amount" and entity.currency is None:
                entity.currency = dominant
    result.entities = _dedupe(entities)[:MAX_ENTITIES]
    result.key_values = _dedupe_pairs(pairs)[:MAX_KEY_VALUES]
    if _needs_masking(result.text) or any(e.masked for e in result.entities) or _any_sheet_needs_masking(result):
        _mask_everything(result)


_SENSITIVE_PREFILTER = re.compile(r"\d{6}\s?-\s?[1-8]\d{6}|\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d")


def _any_sheet_needs_masking(result: ExtractionResult) -> bool:
    if not result.spreadsheet:
        return False
    for sheet in result.spreadsheet.sheets:
        for row in sheet.rows:
            for value in row:
                # Cheap checks first: most cells are numbers or short words.
                if (
                    isinstance(value, str)
                    and len(value) >= 13
                    and _SENSITIVE_PREFILTER.search(value)
                    and _needs_masking(value)
                ):
                    return True
    return False
