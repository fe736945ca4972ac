"""Entities OCR splits into pieces: IBAN, BIC/SWIFT, dates and phone numbers with spaces (issue 15),
and their way into the result and the report."""

from __future__ import annotations

import pytest

from fastapi_app.extractors.base import ExtractionResult
from fastapi_app.extractors.text_analysis import analyze, find_entities
from fastapi_app.extractors.text_analysis.identifiers import iban_valid
from fastapi_app.reports.builder import build_report_model
from fastapi_app.reports.renderers.common import entity_rows


def found(text: str, kind: str) -> list[tuple[str, object, bool | None]]:
    return [(e.text, e.value, e.valid) for e in find_entities(text, slash_order="dmy") if e.type == kind]


@pytest.mark.parametrize(
    "raw",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "DE89 3704 0044 0532 013000",
        "DE89 37040044 0532 0130 00",
    ],
)
def test_iban_kept_whole_however_ocr_spaces_it(raw: str) -> None:
    assert found(f"IBAN: {raw}", "iban") == [(raw, "DE89 3704 0044 0532 0130 00", True)]


def test_iban_then_bic_on_one_line() -> None:
    text = "Bankverbindung IBAN DE89 3704 0044 0532 0130 00 BIC DEUTDEFF500 Commerzbank"
    assert found(text, "iban") == [("DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00", True)]
    assert found(text, "bic") == [("DEUTDEFF500", "DEUTDEFF500", None)]
    assert found(text, "card_number") == [] and found(text, "phone") == []


def test_iban_checksum() -> None:
    assert iban_valid("GB82WEST12345698765432")
    assert not iban_valid("GB82WEST12345698765433")
    assert found("Konto GB82 WEST 1234 5698 7654 32 danke", "iban")[0][1:] == ("GB82 WEST 1234 5698 7654 32", True)
    # A wrong digit: reported after an IBAN label, marked invalid; without the label it is no IBAN.
    assert found("IBAN: DE89 3704 0044 0532 0130 01", "iban") == [
        ("DE89 3704 0044 0532 0130 01", "DE89 3704 0044 0532 0130 01", False)
    ]
    assert found("ref DE89 3704 0044 0532 0130 01", "iban") == []


@pytest.mark.parametrize(
    ("text", "bic"),
    [
        ("BIC: DEUTDEFF500", "DEUTDEFF500"),
        ("SWIFT code DEUTDEFF", "DEUTDEFF"),
        ("BIC/SWIFT: DEUT DE FF 500", "DEUTDEFF500"),  # OCR split it into its parts
        ("Swift: KOEXKRSE", "KOEXKRSE"),
        ("pay to NWBKGB2L", "NWBKGB2L"),  # no label, but a digit in the location code
    ],
)
def test_bic(text: str, bic: str) -> None:
    assert [value for _, value, _ in found(text, "bic")] == [bic]


def test_capitalised_words_are_not_bics() -> None:
    assert found("BUSINESS QUANTITY INVOICES SHIPPING DEUT DE FF", "bic") == []


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("05/03/2024", "2024-03-05"),
        ("2024년 3월 5일", "2024-03-05"),
        ("2024 년 3 월 5 일", "2024-03-05"),
        ("2024. 3. 5.", "2024-03-05"),
        ("2024 . 3 . 5", "2024-03-05"),
    ],
)
def test_dates_as_scans_print_them(text: str, iso: str) -> None:
    assert [value for _, value, _ in found(f"발행일 {text} 끝", "date")] == [iso]


@pytest.mark.parametrize(("raw", "e164"), [("+82 10 1234 5678", "+821012345678"), ("02 123 4567", "+8221234567")])
def test_phone_numbers_with_spaces(raw: str, e164: str) -> None:
    assert [value for _, value, _ in found(f"전화 {raw} 입니다", "phone")] == [e164]


def test_iban_and_bic_reach_the_result_and_the_report() -> None:
    result = ExtractionResult(file_type="pdf", mime_type="application/pdf", size_bytes=1, sha256="0" * 64,
                              text="Rechnung\nIBAN: DE89 3704 0044 0532 0130 00\nBIC: DEUTDEFF500\n")  # fmt: skip
    analyze(result)
    dumped = result.model_dump(mode="json")
    assert {(e["type"], e["value"]) for e in dumped["entities"]} >= {
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("bic", "DEUTDEFF500"),
    }
    report = build_report_model(result, filename="rechnung.pdf", version=1)
    assert report.highlights.ibans == [{"iban": "DE89 3704 0044 0532 0130 00", "valid": True}]
    assert report.highlights.bics == ["DEUTDEFF500"]
    rows = entity_rows(report)
    assert ("IBAN", "DE89 3704 0044 0532 0130 00") in rows and ("BIC / SWIFT", "DEUTDEFF500") in rows
