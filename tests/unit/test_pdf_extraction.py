"""PDF extractor: tables, OCR fallback, copy protection, against tests/samples/pdf and corpus facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fastapi_app.extractors import ocr, registry
from fastapi_app.extractors.base import (
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    OcrPageResult,
    PasswordIncorrectError,
    Table,
)
from tests.samples import make_pdfs
from tests.support.corpus import corpus_path, extraction_context, facts, full_rows, row_matches, squash

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "pdf"


def run(path: Path, **overrides: Any) -> ExtractionResult:
    return registry.extract(extraction_context(path, "application/pdf", **overrides))


def sample(name: str, **overrides: Any) -> ExtractionResult:
    return run(SAMPLES / name, **overrides)


def codes(result: ExtractionResult) -> list[str]:
    return [w.code for w in result.warnings]


def page_tables(result: ExtractionResult, page: int) -> list[Table]:
    assert result.pdf is not None
    return [t for t in result.pdf.tables if t.page == page]


# --- samples ---------------------------------------------------------------------------------


def test_samples_are_reproducible(tmp_path: Path) -> None:
    for written in make_pdfs.main(tmp_path):
        assert written.read_bytes() == (SAMPLES / written.name).read_bytes(), written.name


def test_business_number_in_the_invoice_has_a_valid_checksum() -> None:
    assert make_pdfs.business_number_is_valid(make_pdfs.BUSINESS_NUMBER)
    assert not make_pdfs.business_number_is_valid("220-81-62518")


def test_korean_invoice_text_in_reading_order() -> None:
    result = sample("korean_invoice.pdf")
    assert result.pdf is not None
    assert result.pdf.page_count == 1
    assert result.pdf.pages[0].text_source == "text_layer"
    expected = [
        "거래명세서",
        *make_pdfs.INVOICE_LINES,
        "품목 수량 단가 금액",
        "사무용 의자 2 150,000 300,000",
        "모니터 4 200,000 800,000",
        *make_pdfs.INVOICE_TOTALS,
    ]
    position = -1
    for line in expected:
        found = result.text.find(line, position + 1)
        assert found > position, line
        position = found
    assert "사업자등록번호: 220-81-62517" in result.text
    assert "이메일: sales@hanbit.co.kr" in result.text


def test_korean_invoice_ruled_table() -> None:
    result = sample("korean_invoice.pdf")
    [table] = page_tables(result, 1)
    assert table.kind == "ruled"
    assert table.index == 0
    assert table.header == ["품목", "수량", "단가", "금액"]
    assert table.rows == [["사무용 의자", "2", "150,000", "300,000"], ["모니터", "4", "200,000", "800,000"]]
    assert table.bbox is not None
    x0, top, x1, bottom = table.bbox
    assert 0 <= x0 < x1 <= 596 and 0 <= top < bottom <= 842


def test_unruled_table_rows() -> None:
    result = sample("unruled_table.pdf")
    [table] = page_tables(result, 1)
    assert table.kind == "unruled"
    assert full_rows(table) == make_pdfs.UNRULED_TABLE


def test_twenty_pages_has_a_table_on_every_fifth_page_and_progress() -> None:
    calls: list[tuple[int, int, str]] = []
    result = sample("twenty_pages.pdf", progress=lambda c, t, u: calls.append((c, t, u)))
    assert result.pdf is not None
    assert result.pdf.page_count == 20
    assert calls == [(n, 20, "page") for n in range(1, 21)]
    assert [t.page for t in result.pdf.tables] == [5, 10, 15, 20]
    assert all(t.kind == "ruled" and len(t.rows) == 6 for t in result.pdf.tables)
    assert result.pdf.tables[0].header == ["항목 Item", "1월 Jan", "2월 Feb", "3월 Mar"]
    assert "월간 보고서 Monthly report" in result.pdf.pages[0].text


def test_text_only_pages_have_no_tables() -> None:
    result = run(corpus_path("invoice_free_fiber_fr.pdf"))
    assert result.pdf is not None
    assert result.pdf.tables == []


# --- encryption ------------------------------------------------------------------------------


def test_user_password_pdf_needs_the_password() -> None:
    with pytest.raises(EncryptedFileError):
        sample("encrypted_user_pw.pdf")
    with pytest.raises(PasswordIncorrectError):
        sample("encrypted_user_pw.pdf", password="s3cret")
    result = sample("encrypted_user_pw.pdf", password=make_pdfs.USER_PASSWORD)
    assert result.pdf is not None
    assert result.pdf.encrypted is True
    assert result.pdf.copy_protected is False
    assert "암호화된 문서" in result.text


def test_copy_protected_pdf_is_extracted_and_flagged() -> None:
    result = sample("copy_protected.pdf")
    assert result.pdf is not None
    assert result.pdf.encrypted is True
    assert result.pdf.copy_protected is True
    assert "복사 금지 문서" in result.text
    assert result.warnings == []


def test_plain_pdf_is_not_copy_protected() -> None:
    result = sample("korean_invoice.pdf")
    assert result.pdf is not None
    assert (result.pdf.encrypted, result.pdf.copy_protected) == (False, False)


# --- OCR -------------------------------------------------------------------------------------


def test_scanned_page_is_ocrd(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[tuple[int, int], float | None]] = []

    def fake_ocr(image: Any, ctx: ExtractionContext, *, source_dpi: float | None = None) -> OcrPageResult:
        seen.append((image.size, source_dpi))
        return OcrPageResult(text="스캔 문서 테스트\nInvoice 2026", confidence=91.5, duration_ms=12.0, dpi=300)

    monkeypatch.setattr(ocr, "ocr_image", fake_ocr)
    calls: list[tuple[int, int, str]] = []
    result = sample("scanned_korean.pdf", progress=lambda c, t, u: calls.append((c, t, u)))
    assert result.pdf is not None
    [page] = result.pdf.pages
    assert page.has_text_layer is False
    assert page.text_source == "ocr"
    assert page.text == "스캔 문서 테스트\nInvoice 2026"
    assert page.char_count == len(page.text)
    assert page.ocr is not None and page.ocr.confidence == 91.5
    assert result.text == page.text
    # A4 at 300 dpi, give or take pdfium's rounding
    [((width, height), dpi)] = seen
    assert (width, height, dpi) == (pytest.approx(2480, abs=1), pytest.approx(3508, abs=1), 300)
    assert calls == [(1, 1, "ocr"), (1, 1, "page")]
    assert result.ocr is not None
    assert (result.ocr.pages, result.ocr.mean_confidence, result.ocr.languages) == (1, 91.5, "kor+eng")
    assert "NO_TEXT_LAYER" not in codes(result)


def test_ocr_unavailable_keeps_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []

    def unavailable(image: Any, ctx: ExtractionContext, *, source_dpi: float | None = None) -> OcrPageResult:
        attempts.append(1)
        raise ocr.OcrUnavailable("Tesseract is not installed")

    monkeypatch.setattr(ocr, "ocr_image", unavailable)
    result = run(corpus_path("scanned_image_only.pdf"))
    assert result.pdf is not None
    assert [p.text_source for p in result.pdf.pages] == ["none"]
    assert codes(result) == ["OCR_UNAVAILABLE", "NO_TEXT_LAYER"]
    assert result.text == ""
    assert result.ocr is None
    assert attempts == [1]


def test_ocr_disabled() -> None:
    result = sample("scanned_korean.pdf", ocr_enabled=False)
    assert result.pdf is not None
    assert result.pdf.pages[0].text_source == "none"
    assert result.pdf.pages[0].ocr is None
    assert codes(result) == ["OCR_DISABLED", "NO_TEXT_LAYER"]


def test_scanned_corpus_pdf_has_no_native_text(monkeypatch: pytest.MonkeyPatch) -> None:
    assert facts("scanned_image_only.pdf")["text_extractable"] is False
    monkeypatch.setattr(ocr, "ocr_image", lambda *a, **k: OcrPageResult(text=""))
    result = run(corpus_path("scanned_image_only.pdf"))
    assert result.pdf is not None
    assert [p.has_text_layer for p in result.pdf.pages] == [False]
    # OCR ran and found nothing: the page is still reported as text-less
    assert [p.text_source for p in result.pdf.pages] == ["none"]
    assert "NO_TEXT_LAYER" in codes(result)


# --- corpus table facts ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_tables() -> dict[str, ExtractionResult]:
    names = ("ca_warn_report_table.pdf", "three_tables_one_page.pdf", "table_with_rounded_borders.pdf")
    return {name: run(corpus_path(name)) for name in names}


@pytest.mark.parametrize("name", ["three_tables_one_page.pdf", "table_with_rounded_borders.pdf"])
def test_corpus_table_count(corpus_tables: dict[str, ExtractionResult], name: str) -> None:
    fact = facts(name)["table_count"]
    assert len(page_tables(corpus_tables[name], fact["page"])) == fact["count"]


def test_corpus_table_row_counts(corpus_tables: dict[str, ExtractionResult]) -> None:
    fact = facts("three_tables_one_page.pdf")["table_row_counts"]
    tables = page_tables(corpus_tables["three_tables_one_page.pdf"], fact["page"])
    assert [len(full_rows(t)) for t in tables] == fact["rows"]
    assert [t.index for t in tables] == [0, 1, 2]
    assert all(t.kind == "ruled" for t in tables)


def test_corpus_table_rows_contain(corpus_tables: dict[str, ExtractionResult]) -> None:
    name = "ca_warn_report_table.pdf"
    for fact in facts(name)["table_rows_contain"]:
        rows = [row for t in page_tables(corpus_tables[name], fact["page"]) for row in full_rows(t)]
        assert any(row_matches(row, fact["row"]) for row in rows), fact["row"]


def test_corpus_table_cells(corpus_tables: dict[str, ExtractionResult]) -> None:
    name = "table_with_rounded_borders.pdf"
    for fact in facts(name)["table_cells"]:
        [table] = page_tables(corpus_tables[name], fact["page"])
        assert squash(full_rows(table)[fact["row"]][fact["col"]]) == squash(fact["value"])


def test_corpus_multi_page_tables(corpus_tables: dict[str, ExtractionResult]) -> None:
    result = corpus_tables["ca_warn_report_table.pdf"]
    assert result.pdf is not None
    assert result.pdf.page_count >= facts("ca_warn_report_table.pdf")["page_count_min"]
    assert sorted({t.page for t in result.pdf.tables}) == list(range(1, result.pdf.page_count + 1))
