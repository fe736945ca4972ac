"""Key values and entities from Korean, English and European invoice text: facts, not shapes."""

from __future__ import annotations

import pytest

from fastapi_app.extractors.base import ExtractionResult, PdfContent, PdfPage, Sheet, SpreadsheetContent
from fastapi_app.extractors.text_analysis import (
    analyze,
    business_number_valid,
    find_entities,
    key_values_from_text,
    mask_sensitive,
    normalize_phone,
    parse_number,
)

KOREAN_INVOICE = """거래명세서
송장번호: INV-2026-0315
발행일: 2026년 3월 15일
공급자: 주식회사 한빛상사
사업자등록번호: 220-81-62517
담당자: 010-1234-5678
이메일: sales@hanbit.co.kr
홈페이지: https://www.hanbit.co.kr/invoice?id=315.
공급가액 1,000,000원
부가세 100,000원
합계 금액 1,100,000원
"""


def _values(entities, kind):  # type: ignore[no-untyped-def]
    return [e.value for e in entities if e.type == kind]


def test_korean_invoice_entities() -> None:
    entities = find_entities(KOREAN_INVOICE)
    assert _values(entities, "date") == ["2026-03-15"]
    assert _values(entities, "business_registration_number") == ["220-81-62517"]
    assert [e.valid for e in entities if e.type == "business_registration_number"] == [True]
    assert _values(entities, "phone") == ["+821012345678"]
    assert _values(entities, "email") == ["sales@hanbit.co.kr"]
    assert _values(entities, "url") == ["https://www.hanbit.co.kr/invoice?id=315"]
    amounts = [(e.value, e.currency) for e in entities if e.type == "amount"]
    assert amounts == [(1_000_000, "KRW"), (100_000, "KRW"), (1_100_000, "KRW")]


def test_korean_invoice_key_values() -> None:
    pairs = {p.key: p for p in key_values_from_text(KOREAN_INVOICE)}
    assert pairs["송장번호"].value == "INV-2026-0315" and pairs["송장번호"].value_type == "id"
    assert pairs["발행일"].normalized == "2026-03-15" and pairs["발행일"].value_type == "date"
    assert pairs["공급자"].value == "주식회사 한빛상사"
    assert pairs["사업자등록번호"].normalized == "220-81-62517"
    assert pairs["합계 금액"].normalized == 1_100_000 and pairs["합계 금액"].currency == "KRW"
    assert pairs["공급가액"].normalized == 1_000_000
    assert pairs["부가세"].normalized == 100_000


def test_english_labels_without_colon() -> None:
    pairs = {
        p.key: p for p in key_values_from_text("Invoice Number 42183017\nTotal Due $1,234.50\nDate: March 15, 2026")
    }
    assert pairs["Invoice Number"].value == "42183017"
    assert pairs["Total Due"].normalized == 1234.5 and pairs["Total Due"].currency == "USD"
    assert pairs["Date"].normalized == "2026-03-15"


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026년 3월 15일", "2026-03-15"),
        ("2026.03.15", "2026-03-15"),
        ("2026. 3. 15.", "2026-03-15"),
        ("2026-03-15", "2026-03-15"),
        ("2026/03/15", "2026-03-15"),
        ("03/15/2026", "2026-03-15"),
        ("15/03/2026", "2026-03-15"),
        ("March 15, 2026", "2026-03-15"),
        ("Mar 15th, 2026", "2026-03-15"),
        ("15 March 2026", "2026-03-15"),
        ("7. Mai 2014", "2014-05-07"),
        ("02 Juillet 2015", "2015-07-02"),
        ("07.05.2014", "2014-05-07"),
        ("01.05.14-31.05.14", "2014-05-01"),
        ("20-10-2015", "2015-10-20"),
        ("05-03-2026", "2026-03-05"),
        ("03-15-2026", "2026-03-15"),
    ],
)
def test_dates_to_iso(text: str, iso: str) -> None:
    assert _values(find_entities(f"날짜 {text} 끝"), "date")[0] == iso


def test_invalid_dates_are_not_dates() -> None:
    assert _values(find_entities("2026-13-45 and 31.02.2026 and 31-13-2026"), "date") == []


def test_hyphenated_numbers_are_not_day_first_dates() -> None:
    assert _values(find_entities("tel 010-12-2015 ref 1-2-3-2015 code 12-10-20150"), "date") == []


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("1,100,000원", 1_100_000, "KRW"),
        ("₩1,100,000", 1_100_000, "KRW"),
        ("KRW 1,100,000", 1_100_000, "KRW"),
        ("1,100,000 KRW", 1_100_000, "KRW"),
        ("110만원", 1_100_000, "KRW"),
        ("$1,234.56", 1234.56, "USD"),
        ("USD 1,234.56", 1234.56, "USD"),
        ("€34,73", 34.73, "EUR"),
        ("34,73 €", 34.73, "EUR"),
        ("1.234,56 €", 1234.56, "EUR"),
        ("EUR 29.99", 29.99, "EUR"),
    ],
)
def test_amounts_with_currency(text: str, value: float, currency: str) -> None:
    amounts = [(e.value, e.currency) for e in find_entities(f"금액 {text} 입니다") if e.type == "amount"]
    assert amounts == [(value, currency)]


def test_number_parsing() -> None:
    assert parse_number("1,100,000") == 1_100_000
    assert parse_number("34,73") == 34.73
    assert parse_number("1.234,56") == 1234.56
    assert parse_number("24.99") == 24.99
    assert parse_number("1.234", "EUR") == 1234


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("010-1234-5678", "+821012345678"),
        ("02-123-4567", "+8221234567"),
        ("031-123-4567", "+82311234567"),
        ("+82-10-1234-5678", "+821012345678"),
        ("+82 (0)2 1234 5678", "+82212345678"),
        ("+1 415 555 0100", "+14155550100"),
        ("+49 6051 916 44 10", "+496051916441" + "0"),
    ],
)
def test_phone_numbers(raw: str, e164: str) -> None:
    assert _values(find_entities(f"전화 {raw} 입니다"), "phone") == [e164]
    assert normalize_phone(raw) == e164


def test_business_number_checksum() -> None:
    assert business_number_valid("2208162517")
    assert not business_number_valid("2208162518")
    invalid = [e for e in find_entities("사업자 123-45-67890") if e.type == "business_registration_number"]
    assert invalid and invalid[0].valid is False


def test_dates_and_business_numbers_are_not_phones_or_amounts() -> None:
    entities = find_entities("2026-03-15 220-81-62517 INV-2026-0315")
    assert {e.type for e in entities} == {"date", "business_registration_number"}


def test_resident_and_card_numbers_are_masked() -> None:
    text = "주민등록번호 900101-1234567 카드 4111 1111 1111 1111 계좌 1234"
    masked = mask_sensitive(text)
    assert "900101-1******" in masked and "1234567" not in masked
    assert "**** **** **** 1111" in masked
    entities = find_entities(text)
    assert [(e.type, e.text, e.masked) for e in entities if e.masked] == [
        ("resident_registration_number", "900101-1******", True),
        ("card_number", "**** **** **** 1111", True),
    ]
    # Not Luhn-valid, not a date: left alone.
    assert mask_sensitive("order 1234 5678 9012 3456 and 991399-1234567") == (
        "order 1234 5678 9012 3456 and 991399-1234567"
    )


def test_analyze_masks_every_stored_string() -> None:
    secret = "고객 주민번호 850315-2345678, 카드 5500-0000-0000-0004"
    page = PdfPage(number=1, text=secret, char_count=len(secret), has_text_layer=True)
    result = ExtractionResult(
        file_type="pdf", mime_type="application/pdf", size_bytes=1, sha256="x", text=secret,
        pdf=PdfContent(page_count=1, pages=[page]),
    )  # fmt: skip
    analyze(result)
    dumped = result.model_dump_json()
    assert "2345678" not in dumped and "5500-0000-0000-0004" not in dumped
    assert "850315-2******" in result.pdf.pages[0].text  # type: ignore[union-attr]
    assert {e.type for e in result.entities if e.masked} == {"resident_registration_number", "card_number"}


def test_sheet_label_value_cells() -> None:
    sheet = Sheet(
        name="송장",
        index=0,
        rows=[
            ["송장번호", "INV-2026-0315", "", ""],
            ["합계 금액", 1100000, "", ""],
            ["주민번호", "900101-1234567", "", ""],
        ],
    )
    result = ExtractionResult(
        file_type="excel", mime_type="x", size_bytes=1, sha256="x", text="송장번호\tINV-2026-0315",
        spreadsheet=SpreadsheetContent(format="xlsx", sheet_count=1, sheets=[sheet]),
    )  # fmt: skip
    analyze(result)
    pairs = {p.key: p for p in result.key_values}
    assert pairs["송장번호"].value == "INV-2026-0315" and pairs["송장번호"].cell == "B1"
    assert pairs["합계 금액"].normalized == 1100000 and pairs["합계 금액"].sheet == "송장"
    assert result.spreadsheet.sheets[0].rows[2][1] == "900101-1******"  # type: ignore[union-attr]
    assert "1234567" not in result.model_dump_json()


def test_currency_of_bare_amounts_comes_from_the_document() -> None:
    entities = find_entities("Zeilenbetrag 5,39 5,39 3,89 Total EUR 34,73")
    result = ExtractionResult(file_type="pdf", mime_type="x", size_bytes=1, sha256="x", text="5,39 3,89 EUR 34,73")
    analyze(result)
    assert {(e.value, e.currency) for e in result.entities if e.type == "amount"} == {
        (5.39, "EUR"), (3.89, "EUR"), (34.73, "EUR"),
    }  # fmt: skip
    assert 5.39 in _values(entities, "amount")


def test_language() -> None:
    from fastapi_app.extractors.text_analysis import detect_language

    assert detect_language(KOREAN_INVOICE) == "ko"
    assert detect_language("Invoice Number 42183017 Total") == "en"


def test_every_page_of_a_long_document_is_analysed() -> None:
    page = KOREAN_INVOICE + "Invoice Number 42183017 Total Due $1,234.50 on March 15, 2026\n"
    pages = [PdfPage(number=i, text=page, char_count=len(page), has_text_layer=True) for i in range(1, 101)]
    result = ExtractionResult(
        file_type="pdf", mime_type="application/pdf", size_bytes=1, sha256="x", text="\n".join(p.text for p in pages),
        pdf=PdfContent(page_count=100, pages=pages),
    )  # fmt: skip
    analyze(result)
    dated_pages = {e.page for e in result.entities if e.type == "date" and e.value == "2026-03-15"}
    assert dated_pages == set(range(1, 101))
    assert {p.page for p in result.key_values if p.key == "송장번호"} == set(range(1, 101))


@pytest.mark.parametrize("name", ["invoice_qualityhosting_de.pdf", "invoice_free_fiber_fr.pdf"])
def test_corpus_invoice_amounts_and_dates(name: str) -> None:
    """The amounts and dates the source projects assert for their invoices, found as entities."""
    from fastapi_app.extractors.base import ExtractionContext
    from fastapi_app.extractors.engine import extract_document
    from tests.support.corpus import corpus_path, facts

    path = corpus_path(name)
    result = extract_document(
        ExtractionContext(
            path=path, mime_type="application/pdf", file_type="pdf", size_bytes=path.stat().st_size, sha256="x"
        )
    )
    expected = facts(name)
    amounts = {e.value for e in result.entities if e.type == "amount"}
    dates = {e.value for e in result.entities if e.type == "date"}
    assert set(expected["amounts_contain"]) <= amounts
    assert set(expected["dates_iso"]) <= dates
    assert {e.currency for e in result.entities if e.type == "amount"} == {expected["invoice"]["currency"]}
    invoice_number = expected["invoice"]["invoice_number"]
    assert any(invoice_number in p.value for p in result.key_values) or invoice_number in result.text


def test_invoice_workbook_pairs_include_the_table_total() -> None:
    """tests/samples/sheets/invoice_kv.xlsx: 합계 is 1,100,000, found once, at D9."""
    from fastapi_app.extractors.base import ExtractionContext
    from fastapi_app.extractors.engine import extract_document
    from tests.support.stack import ROOT

    path = ROOT / "tests" / "samples" / "sheets" / "invoice_kv.xlsx"
    result = extract_document(
        ExtractionContext(
            path=path,
            mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            file_type="excel",
            size_bytes=path.stat().st_size,
            sha256="x",
        )
    )
    pairs = [(p.key, p.normalized, p.cell) for p in result.key_values]
    assert ("합계 금액", 1_100_000, "D9") in pairs
    assert [p for p in pairs if p[0] == "합계 금액"] == [("합계 금액", 1_100_000, "D9")]
    assert ("송장번호", "INV-2026-0315", "B1") in pairs and ("발행일", "2026-03-15", "B4") in pairs
