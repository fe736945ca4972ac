"""Key-value pairs: "label: value" lines, known labels, two-column sheets and tables."""

from __future__ import annotations

import re
from typing import Any

from fastapi_app.extractors.base import KeyValue, Sheet, Table, column_letter
from fastapi_app.extractors.text_analysis.entities import find_entities
from fastapi_app.extractors.text_analysis.numbers import parse_number

MAX_SHEET_ROWS_FOR_PAIRS = 500


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
