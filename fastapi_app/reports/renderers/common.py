"""Formatting shared by the text renderers, so every format prints a value the same way."""

from __future__ import annotations

from typing import Any

from fastapi_app.reports.model import Money, Report

CURRENCY_SYMBOLS = {"KRW": "원", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£"}


def money(value: Money | None) -> str:
    if value is None:
        return "-"
    amount = value.amount
    number = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    if value.currency == "KRW":
        return f"{number}원"
    if value.currency in ("USD", "EUR", "GBP", "JPY"):
        return f"{CURRENCY_SYMBOLS[value.currency]}{number}"
    return f"{number} {value.currency}" if value.currency else number


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def headline_rows(report: Report) -> list[tuple[str, str]]:
    h = report.headline
    rows = [
        ("문서 번호 / Number", h.document_number),
        ("발행일 / Date", h.document_date),
        ("거래처 / Counterparty", h.counterparty),
        ("사업자등록번호 / Business no.", h.business_number),
        ("합계 / Total", money(h.total) if h.total else None),
        ("지급기한 / Due", h.due_date),
        ("검증 / Check", h.check),
    ]
    return [(label, value) for label, value in rows if value]


def fact_rows(report: Report) -> list[tuple[str, str]]:
    d = report.document
    rows: list[tuple[str, Any]] = [
        ("파일 / File", d.filename),
        ("형식 / Type", f"{d.file_type} ({d.mime_type})"),
        ("크기 / Size", f"{d.size_bytes:,} bytes"),
        ("페이지 / Pages", d.page_count),
        ("시트 / Sheets", d.sheet_count),
        ("이미지 / Image", d.image_size),
        ("언어 / Language", d.language),
        ("업로드 / Uploaded", d.uploaded_at),
        ("처리 / Processed", d.processed_at),
        ("처리 시간 / Duration", f"{d.processing_ms:,.0f} ms" if d.processing_ms else None),
    ]
    rows += list(d.metadata.items())
    if report.ocr:
        confidence = f", confidence {report.ocr.mean_confidence:.1f}" if report.ocr.mean_confidence else ""
        rows.append(("OCR", f"{report.ocr.pages} page(s){confidence}"))
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


def entity_rows(report: Report) -> list[tuple[str, str]]:
    h = report.highlights
    rows = [("금액 / Amount", money(m)) for m in h.amounts]
    rows += [("날짜 / Date", d) for d in h.dates] + [("거래처 / Counterparty", c) for c in h.counterparties]
    rows += [
        ("사업자등록번호", f"{b['number']} ({'valid' if b['valid'] else 'checksum fails'})") for b in h.business_numbers
    ]
    rows += [("이메일 / Email", e) for e in h.emails] + [("전화 / Phone", p) for p in h.phones]
    rows += [("IBAN", f"{i['iban']}{'' if i['valid'] else ' (checksum fails)'}") for i in h.ibans]
    rows += [("BIC / SWIFT", b) for b in h.bics]
    rows += [("URL", u) for u in h.urls] + [("가림 / Masked", m) for m in h.masked]
    return rows
