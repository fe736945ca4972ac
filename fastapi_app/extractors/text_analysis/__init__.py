"""Key information from any extracted text: language, key-value pairs and entities.

Runs on every result (PDF pages, OCR text, sheet cells). Resident registration and card numbers
are masked in every string of the result before it is stored: the raw numbers never persist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi_app.extractors.base import Entity, ExtractionResult, KeyValue
from fastapi_app.extractors.text_analysis.dates import infer_slash_order
from fastapi_app.extractors.text_analysis.entities import find_entities
from fastapi_app.extractors.text_analysis.identifiers import business_number_valid, luhn_valid, normalize_phone
from fastapi_app.extractors.text_analysis.key_values import (
    key_values_from_sheet,
    key_values_from_table,
    key_values_from_text,
)
from fastapi_app.extractors.text_analysis.language import detect_language
from fastapi_app.extractors.text_analysis.masking import mask_sensitive, needs_masking
from fastapi_app.extractors.text_analysis.numbers import parse_number
from fastapi_app.extractors.text_analysis.tax_invoice import find_tax_invoice

__all__ = [
    "analyze",
    "business_number_valid",
    "detect_language",
    "find_entities",
    "infer_slash_order",
    "key_values_from_sheet",
    "key_values_from_table",
    "key_values_from_text",
    "luhn_valid",
    "mask_sensitive",
    "normalize_phone",
    "parse_number",
]

MAX_ENTITIES = 2_000
MAX_KEY_VALUES = 2_000
MAX_SHEET_ROWS_FOR_PAIRS = 500
# Entities and pairs are looked for in the first characters of each page or sheet: a 1M-cell
# sheet would otherwise cost seconds. Masking always looks at every string.
MAX_ANALYSIS_CHARS_PER_SEGMENT = 300_000


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

    for name in ("text", "pdf", "spreadsheet", "image", "hwp", "key_values"):
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
    texts: list[str] = []
    for text, page, sheet in _segments(result):
        if not text:
            continue
        text = text[:MAX_ANALYSIS_CHARS_PER_SEGMENT]
        texts.append(text)
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
    if result.hwp:
        for table in result.hwp.tables:
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
    result.tax_invoice = find_tax_invoice(result, texts)
    if needs_masking(result.text) or any(e.masked for e in result.entities) or _any_sheet_needs_masking(result):
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
                    and needs_masking(value)
                ):
                    return True
    return False
