"""Build the report model from an extraction result: the headline facts first, then the detail."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi_app.extractors.base import Entity, ExtractionResult, KeyValue
from fastapi_app.reports.model import (
    REPORT_SCHEMA_VERSION,
    ColumnStat,
    DocumentFacts,
    Headline,
    Highlights,
    KeyValueRow,
    Money,
    OcrFacts,
    Report,
    ReportTable,
    SheetSummary,
    Warning_,
)

__all__ = ["REPORT_SCHEMA_VERSION", "build_report", "build_report_model"]

TABLE_ROWS_IN_REPORT = 50
HIGHLIGHT_LIMIT = 20

_NUMBER_KEY = re.compile(
    r"(송장|계산서|거래|주문|견적|문서|청구서)\s*번호|invoice\s*(number|no\.?|#)|rechnungs?-?nr|facture\s*n|"
    r"order\s*(number|no\.?|id)|document\s*(number|no\.?)",
    re.I,
)
_DATE_KEY = re.compile(r"(발행|작성|거래|청구)\s*일|invoice\s*date|rechnungsdatum|date\s*de\s*facture|^date$", re.I)
_DUE_KEY = re.compile(r"납기|지급\s*기한|결제\s*기한|due\s*date|date\s*limite|fällig", re.I)
_PARTY_KEY = re.compile(r"공급자|상호|회사명|거래처|supplier|vendor|seller|issuer|from|lieferant", re.I)
_TOTAL_KEY = re.compile(
    r"합계\s*금액|합\s*계|총\s*액|총\s*금액|청구\s*금액|결제\s*금액|grand\s*total|total\s*(due|amount)?|"
    r"amount\s*due|somme\s*à\s*payer|total\s*facture|rechnungsbetrag|gesamt",
    re.I,
)
_COMPANY = re.compile(
    r"(?:주식회사|유한회사|\(주\)|㈜)\s*[\w가-힣]+|[\w가-힣]+\s*(?:주식회사|\(주\)|㈜)|"
    r"[A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*)*\s+(?:Co\.,?\s*Ltd\.?|Ltd\.?|Inc\.?|GmbH|AG|Corp\.?|LLC|S\.A\.|SAS)"
)


def _first_pair(pairs: list[KeyValue], pattern: re.Pattern[str], value_type: str | None = None) -> KeyValue | None:
    for pair in pairs:
        if pattern.search(pair.key) and (value_type is None or pair.value_type == value_type):
            return pair
    return None


def _headline(result: ExtractionResult) -> Headline:
    pairs, entities = result.key_values, result.entities
    headline = Headline()
    if pair := _first_pair(pairs, _NUMBER_KEY):
        headline.document_number = pair.value
    if pair := _first_pair(pairs, _DATE_KEY, "date"):
        headline.document_date = pair.normalized
    elif dates := [e.value for e in entities if e.type == "date"]:
        headline.document_date = dates[0]
    if pair := _first_pair(pairs, _DUE_KEY, "date"):
        headline.due_date = pair.normalized
    # "공급자 등록번호: 220-81-62517" names the supplier's number, not the supplier.
    if pair := next((p for p in pairs if _PARTY_KEY.search(p.key) and p.value_type != "id"), None):
        headline.counterparty = pair.value
    elif company := _COMPANY.search(result.text):
        headline.counterparty = company.group(0).strip()
    numbers = [e for e in entities if e.type == "business_registration_number" and e.valid]
    if numbers:
        headline.business_number = str(numbers[0].value)
    total = _first_pair(pairs, _TOTAL_KEY, "amount") or _first_pair(pairs, _TOTAL_KEY, "number")
    if total is not None and isinstance(total.normalized, (int, float)):
        headline.total = Money(amount=total.normalized, currency=total.currency or _dominant_currency(entities),
                               text=total.value)  # fmt: skip
    else:
        amounts = [e for e in entities if e.type == "amount" and isinstance(e.value, (int, float))]
        if amounts:
            largest = max(amounts, key=lambda e: e.value)
            headline.total = Money(amount=largest.value, currency=largest.currency, text=largest.text)
    headline.check = _tax_invoice_check(result)
    return headline


_CHECK_LABELS = {
    "fields_found": "항목 누락 / fields missing",
    "tax_is_10_percent": "세액이 공급가액의 10%가 아님 / tax is not 10 % of the supply amount",
    "items_add_up": "품목 합계와 공급가액 불일치 / items do not add up to the supply amount",
    "item_taxes_add_up": "품목 세액 합계와 세액 불일치 / item taxes do not add up to the tax",
    "total_is_supply_plus_tax": "합계금액이 공급가액 + 세액과 다름 / total is not supply + tax",
    "supplier_brn_valid": "공급자 사업자등록번호 오류 / supplier registration number invalid",
    "buyer_brn_valid": "공급받는자 사업자등록번호 오류 / buyer registration number invalid",
}


def _tax_invoice_check(result: ExtractionResult) -> str | None:
    invoice = result.tax_invoice
    if invoice is None or invoice.validation.ok:
        return None
    problems = [
        f"{_CHECK_LABELS.get(c.name, c.name)} (expected {_shown(c.expected)}, found {_shown(c.actual)})"
        for c in invoice.validation.checks
        if not c.ok
    ]
    return "검증 실패 / Does not add up: " + "; ".join(problems)


def _shown(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _dominant_currency(entities: list[Entity]) -> str | None:
    currencies = [e.currency for e in entities if e.type == "amount" and e.currency]
    return max(set(currencies), key=currencies.count) if currencies else None


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for value in values:
        key = str(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out[:HIGHLIGHT_LIMIT]


def _highlights(result: ExtractionResult, headline: Headline) -> Highlights:
    by_type: dict[str, list[Entity]] = {}
    for entity in result.entities:
        by_type.setdefault(entity.type, []).append(entity)
    amounts = _unique([(e.value, e.currency, e.text) for e in by_type.get("amount", [])])
    parties = [p.value for p in result.key_values if _PARTY_KEY.search(p.key)]
    parties += [m.group(0).strip() for m in _COMPANY.finditer(result.text[:200_000])]
    return Highlights(
        amounts=[Money(amount=v, currency=c, text=t) for v, c, t in amounts],
        dates=_unique(sorted({str(e.value) for e in by_type.get("date", [])})),
        counterparties=_unique(([headline.counterparty] if headline.counterparty else []) + parties),
        business_numbers=_unique(
            [{"number": e.value, "valid": e.valid} for e in by_type.get("business_registration_number", [])]
        ),
        emails=_unique([e.value for e in by_type.get("email", [])]),
        phones=_unique([e.text for e in by_type.get("phone", [])]),
        urls=_unique([e.value for e in by_type.get("url", [])]),
        ibans=_unique([{"iban": e.value, "valid": e.valid} for e in by_type.get("iban", [])]),
        bics=_unique([e.value for e in by_type.get("bic", [])]),
        masked=_unique([e.text for e in result.entities if e.type in ("resident_registration_number", "card_number")]),
    )


def _where(pair: KeyValue) -> str | None:
    if pair.sheet:
        return f"sheet {pair.sheet}{' ' + pair.cell if pair.cell else ''}"
    if pair.page:
        return f"page {pair.page}"
    return None


def _tables(result: ExtractionResult) -> list[ReportTable]:
    tables: list[ReportTable] = []
    if result.pdf:
        for table in result.pdf.tables:
            title = f"Page {table.page}, table {table.index + 1}" if table.page else f"Table {table.index + 1}"
            tables.append(ReportTable(title=title, header=table.header, rows=table.rows[:TABLE_ROWS_IN_REPORT],
                                      total_rows=len(table.rows)))  # fmt: skip
    if result.hwp:
        for table in result.hwp.tables:
            tables.append(ReportTable(title=f"Table {table.index + 1}", header=table.header,
                                      rows=table.rows[:TABLE_ROWS_IN_REPORT], total_rows=len(table.rows)))  # fmt: skip
    if result.spreadsheet:
        for sheet in result.spreadsheet.sheets:
            for table in sheet.tables:
                title = f"{sheet.name} {table.cell_range or ''}".strip()
                tables.append(ReportTable(title=title, header=table.header, rows=table.rows[:TABLE_ROWS_IN_REPORT],
                                          total_rows=len(table.rows)))  # fmt: skip
    return tables


def _sheets(result: ExtractionResult) -> list[SheetSummary]:
    if not result.spreadsheet:
        return []
    return [
        SheetSummary(
            name=sheet.name,
            visibility=sheet.visibility,
            dimensions=sheet.dimensions,
            rows=sheet.row_count,
            columns=sheet.column_count,
            numeric_columns=[
                ColumnStat(**c.model_dump(include={"column", "header", "count", "sum", "min", "max", "mean"}))
                for c in sheet.columns
                if c.type == "number"
            ],
        )
        for sheet in result.spreadsheet.sheets
    ]


def _title(result: ExtractionResult, filename: str, headline: Headline) -> str:
    """The metadata title, else the document's own first line, else the file name; with the
    document number when one was found ("거래명세서 INV-2026-0315")."""
    heading = ""
    if result.pdf and result.pdf.metadata.get("title"):
        heading = str(result.pdf.metadata["title"]).strip()
    elif result.hwp and result.hwp.metadata.get("title"):
        heading = str(result.hwp.metadata["title"]).strip()
    if not heading:
        first_line = next((line.strip() for line in result.text.splitlines() if line.strip()), "")
        if 0 < len(first_line) <= 40 and not _NUMBER_KEY.search(first_line) and ":" not in first_line:
            heading = first_line
    heading = heading or filename
    number = headline.document_number
    return f"{heading} {number}" if number and number not in heading else heading


def build_report_model(
    result: ExtractionResult,
    *,
    filename: str,
    version: int,
    uploaded_at: datetime | None = None,
    processing_ms: float | None = None,
) -> Report:
    headline = _headline(result)
    facts = DocumentFacts(
        filename=filename,
        file_type=result.file_type,
        mime_type=result.mime_type,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        language=result.language,
        uploaded_at=uploaded_at.isoformat() if uploaded_at else None,
        processed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        processing_ms=processing_ms if processing_ms is not None else sum(result.timings_ms.values()) or None,
    )
    if result.pdf:
        facts.page_count = result.pdf.page_count
        facts.metadata = {k: v for k, v in result.pdf.metadata.items() if v}
    if result.spreadsheet:
        facts.sheet_count = result.spreadsheet.sheet_count
    if result.hwp:
        facts.metadata = {k: v for k, v in result.hwp.metadata.items() if v}
        if result.hwp.version:
            facts.metadata["format_version"] = (
                f"{'HWPX' if result.hwp.format == 'hwpx' else 'HWP'} {result.hwp.version}"
            )
        if result.hwp.distribution:
            facts.metadata["distribution"] = "배포용 / distribution document"
    if result.image:
        facts.image_size = f"{result.image.width}x{result.image.height}"
        for tag in ("Make", "Model", "DateTimeOriginal"):
            if result.image.exif.get(tag):
                facts.metadata[tag] = str(result.image.exif[tag])
        if result.image.gps:
            facts.metadata["GPS"] = f"{result.image.gps.latitude:.6f}, {result.image.gps.longitude:.6f}"
    return Report(
        version=version,
        title=_title(result, filename, headline),
        headline=headline,
        document=facts,
        key_values=[
            KeyValueRow(key=p.key, value=p.value, normalized=p.normalized, where=_where(p)) for p in result.key_values
        ],
        highlights=_highlights(result, headline),
        tables=_tables(result),
        sheets=_sheets(result),
        ocr=OcrFacts(
            pages=result.ocr.pages,
            mean_confidence=result.ocr.mean_confidence,
            languages=result.ocr.languages,
            duration_ms=result.ocr.duration_ms,
        )
        if result.ocr
        else None,
        text_excerpt=result.text[:1500],
        warnings=[Warning_(code=w.code, message=w.message) for w in result.warnings],
        timings_ms=dict(result.timings_ms),
    )


def build_report(
    result: ExtractionResult, *, filename: str, uploaded_at: datetime | None, version: int
) -> dict[str, Any]:
    """The stored JSON of a report for a document's processing run (the document's facts as plain values:
    reports sit below the models)."""
    report = build_report_model(result, filename=filename, version=version, uploaded_at=uploaded_at)
    return report.model_dump(mode="json")
