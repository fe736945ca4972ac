"""Korean tax invoices and statements of transaction: key values, the validation, and the report
headline that flags one that does not add up (JSON, and every rendered format)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import ExtractionContext, ExtractionResult, TaxInvoice, Validation
from fastapi_app.extractors.engine import extract_document
from fastapi_app.extractors.text_analysis.tax_invoice import validate
from fastapi_app.reports.builder import build_report, build_report_model
from fastapi_app.reports.renderers.registry import render
from tests.samples.make_tax_invoices import (
    BAD,
    BUYER_BRN,
    GOOD,
    INVALID_BRN,
    SUPPLIER_BRN,
    statement_xlsx,
    tax_invoice_pdf,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def extract(path: Path, mime: str) -> ExtractionResult:
    data = path.read_bytes()
    supported = registry.supported_type(mime)
    assert supported is not None
    ctx = ExtractionContext(path=path, mime_type=mime, file_type=supported.family, size_bytes=len(data), sha256="0")
    return extract_document(ctx)


def checks(invoice: TaxInvoice) -> dict[str, tuple[bool, object, object]]:
    return {c.name: (c.ok, c.expected, c.actual) for c in invoice.validation.checks}


def test_tax_invoice_pdf_that_adds_up(tmp_path: Path) -> None:
    result = extract(tax_invoice_pdf(tmp_path / "good.pdf", GOOD), "application/pdf")
    invoice = result.tax_invoice
    assert invoice is not None
    assert (invoice.kind, invoice.supplier_brn, invoice.buyer_brn, invoice.issue_date) == (
        "tax_invoice",
        SUPPLIER_BRN,
        BUYER_BRN,
        "2026-03-15",
    )
    assert (invoice.supply_amount, invoice.tax_amount, invoice.total_amount) == (1_100_000, 110_000, 1_210_000)
    assert [(i.name, i.quantity, i.unit_price, i.supply_amount, i.tax_amount) for i in invoice.items] == [
        ("사무용 의자", 2, 150_000, 300_000, 30_000),
        ("모니터", 4, 200_000, 800_000, 80_000),
    ]
    assert invoice.validation.ok
    assert checks(invoice) == {
        "tax_is_10_percent": (True, 110_000, 110_000),
        "items_add_up": (True, 1_100_000, 1_100_000),
        "item_taxes_add_up": (True, 110_000, 110_000),
        "total_is_supply_plus_tax": (True, 1_210_000, 1_210_000),
        "supplier_brn_valid": (True, "valid checksum", SUPPLIER_BRN),
        "buyer_brn_valid": (True, "valid checksum", BUYER_BRN),
    }
    report = build_report(result, filename="good.pdf", uploaded_at=None, version=1)
    assert report["headline"]["check"] is None
    assert report["headline"]["counterparty"] == "주식회사 한빛상사"  # not the number labelled 공급자 등록번호
    assert "검증" not in render(build_report_model(result, filename="good.pdf", version=1), "md").decode()


def test_tax_invoice_pdf_that_does_not_add_up_is_flagged(tmp_path: Path) -> None:
    result = extract(tax_invoice_pdf(tmp_path / "bad.pdf", BAD), "application/pdf")
    invoice = result.tax_invoice
    assert invoice is not None
    assert (invoice.buyer_brn, invoice.tax_amount, invoice.total_amount) == (INVALID_BRN, 100_000, 1_200_000)
    assert not invoice.validation.ok
    found = checks(invoice)
    assert found["tax_is_10_percent"] == (False, 110_000, 100_000)
    assert found["buyer_brn_valid"] == (False, "valid checksum", INVALID_BRN)
    assert found["supplier_brn_valid"][0] is True
    assert found["total_is_supply_plus_tax"][0] is True  # 1,100,000 + 100,000 is what it says

    stored = build_report(result, filename="bad.pdf", uploaded_at=None, version=1)
    check = json.loads(json.dumps(stored))["headline"]["check"]
    assert check.startswith("검증 실패 / Does not add up")
    assert "세액이 공급가액의 10%가 아님" in check
    assert "expected 110,000, found 100,000" in check
    assert f"buyer registration number invalid (expected valid checksum, found {INVALID_BRN})" in check

    model = build_report_model(result, filename="bad.pdf", version=1)
    assert json.loads(render(model, "json"))["headline"]["check"] == check
    assert check in render(model, "md").decode()
    assert 'role="alert"' in render(model, "html").decode()
    assert "세액이 공급가액의 10%가 아님" in render(model, "html").decode()
    pdf_text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=render(model, "pdf"), capture_output=True, check=True
    ).stdout.decode()
    squashed = "".join(pdf_text.split())
    assert "검증실패" in squashed
    assert "세액이공급가액의10%가아님" in squashed
    assert INVALID_BRN in squashed

    import openpyxl

    summary = openpyxl.load_workbook(io.BytesIO(render(model, "xlsx"))).worksheets[0]
    values = [str(c.value) for row in summary.iter_rows() for c in row if c.value is not None]
    assert check in values


@pytest.mark.parametrize(("invoice", "ok"), [(GOOD, True), (BAD, False)])
def test_statement_of_transaction_xlsx(tmp_path: Path, invoice: object, ok: bool) -> None:
    result = extract(statement_xlsx(tmp_path / "statement.xlsx", invoice), XLSX)  # type: ignore[arg-type]
    found = result.tax_invoice
    assert found is not None
    assert found.kind == "transaction_statement"
    assert (found.supplier_brn, found.issue_date) == (SUPPLIER_BRN, "2026-03-15")
    # 공급가액 is a SUM formula without a cached value: computed, then validated.
    assert found.supply_amount == 1_100_000
    assert [i.name for i in found.items] == ["사무용 의자", "모니터"]
    assert found.validation.ok is ok
    failed = {c.name for c in found.validation.checks if not c.ok}
    assert failed == (set() if ok else {"tax_is_10_percent", "item_taxes_add_up", "buyer_brn_valid"})
    headline = build_report(result, filename="statement.xlsx", uploaded_at=None, version=1)["headline"]
    assert (headline["check"] is None) is ok


@pytest.mark.parametrize(
    ("supply", "tax", "ok"),
    [
        (1_234_567, 123_456, True),  # floor
        (1_234_567, 123_457, True),  # rounded
        (1_234_567, 123_455, False),
        (1_000_000, 100_000, True),
        (1_000_000, 0, False),
    ],
)
def test_tax_is_ten_percent_to_the_won(supply: int, tax: int, ok: bool) -> None:
    invoice = TaxInvoice(
        kind="tax_invoice",
        supplier_brn=SUPPLIER_BRN,
        buyer_brn=BUYER_BRN,
        supply_amount=supply,
        tax_amount=tax,
        total_amount=supply + tax,
        validation=Validation(ok=True),
    )
    result = validate(invoice)
    assert {c.name: c.ok for c in result.checks}["tax_is_10_percent"] is ok
    assert result.ok is ok


def test_missing_fields_fail_the_validation() -> None:
    invoice = TaxInvoice(
        kind="tax_invoice", supplier_brn=SUPPLIER_BRN, supply_amount=1000, validation=Validation(ok=True)
    )
    result = validate(invoice)
    assert not result.ok
    assert {c.name: c.actual for c in result.checks}["fields_found"] == ["tax_amount", "total_amount", "buyer_brn"]


def test_documents_that_are_not_invoices_have_none(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("공급가액,세액\n1000,100\n", encoding="utf-8")
    assert extract(path, "text/csv").tax_invoice is None
    # Naming the document type is not enough: a notice about an invoice has no amounts to check.
    notice = tmp_path / "notice.csv"
    notice.write_text("안내\n전자세금계산서는 매월 10일까지 발행합니다.\n", encoding="utf-8")
    assert extract(notice, "text/csv").tax_invoice is None
