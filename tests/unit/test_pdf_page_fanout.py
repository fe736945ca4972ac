"""Issue 18: a PDF extracted in page ranges (parts run by parallel tasks) and merged gives the result one
pass over the whole file gives: pages and text in order, tables, OCR, warnings, key values."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from fastapi_app.extractors import pdf
from fastapi_app.extractors.base import ExtractionResult
from fastapi_app.extractors.engine import analyze_content
from tests.support.corpus import extraction_context
from tests.support.documents import korean_invoice_pdf, scanned_pages_pdf, small_text_pdf

SCANNED_WORDS = ["ALPHA BRAVO CHARLIE", "DELTA ECHO FOXTROT", "GOLF HOTEL INDIA"]


def _joined(*documents: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in documents:
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def mixed_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Invoice with a ruled table (text layer), three scanned pages, a one-line text page: five pages."""
    path = tmp_path_factory.mktemp("fanout") / "mixed.pdf"
    path.write_bytes(_joined(korean_invoice_pdf(), scanned_pages_pdf(SCANNED_WORDS), small_text_pdf()))
    return path


def _comparable(result: ExtractionResult) -> dict[str, Any]:
    """The result without the measured durations, which differ between any two runs."""
    data = result.model_dump(mode="json")
    data.pop("timings_ms")
    if data["ocr"]:
        data["ocr"].pop("duration_ms")
    for page in data["pdf"]["pages"]:
        if page["ocr"]:
            page["ocr"].pop("duration_ms")
    return data


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_parts_merged_in_page_order_equal_one_pass(mixed_pdf: Path, chunk: int) -> None:
    ctx = extraction_context(mixed_pdf, ocr_languages="kor+eng")
    single = pdf.extract(ctx)
    analyze_content(single)

    census = pdf.page_census(ctx)
    assert census is not None and census.pages == 5
    pages = census.pages
    assert census.sampled_without_text == 3  # every page is sampled in a file this short
    spans = [pdf.extract_page_span(ctx, first, min(first + chunk - 1, pages)) for first in range(1, pages + 1, chunk)]
    # Parts finish in any order: the merge puts them back in page order.
    merged = pdf.merge_page_spans(ctx, list(reversed(spans)))
    analyze_content(merged)

    assert _comparable(merged) == _comparable(single)
    assert merged.pdf is not None
    assert [page.number for page in merged.pdf.pages] == [1, 2, 3, 4, 5]
    assert [page.text for page in merged.pdf.pages[1:4]] == SCANNED_WORDS
    assert merged.pdf.tables and merged.pdf.tables[0].page == 1
    assert merged.ocr is not None and merged.ocr.pages == 3
    assert merged.text.index("ALPHA") < merged.text.index("GOLF") < merged.text.index("42183017")
    assert any(kv.value and "INV-2026-0315" in str(kv.value) for kv in merged.key_values)


def test_ocr_disabled_is_said_once_across_parts(mixed_pdf: Path) -> None:
    ctx = extraction_context(mixed_pdf, ocr_enabled=False)
    single = pdf.extract(ctx)
    spans = [pdf.extract_page_span(ctx, first, first) for first in range(1, 6)]
    merged = pdf.merge_page_spans(ctx, spans)

    assert [w.code for w in merged.warnings].count("OCR_DISABLED") == 1
    assert _comparable(merged) == _comparable(single)


def test_the_census_tells_a_text_pdf_from_a_scan(tmp_path: Path) -> None:
    """Fan-out is for pages to OCR: the census samples 8 pages spread over the file for a text layer."""
    text = Path(__file__).resolve().parents[1] / "samples" / "pdf" / "twenty_pages.pdf"
    census = pdf.page_census(extraction_context(text))
    assert census == pdf.PageCensus(pages=20, sampled_without_text=0)

    scan = tmp_path / "scan.pdf"
    scan.write_bytes(scanned_pages_pdf([f"PAGE {n}" for n in range(1, 13)]))
    census = pdf.page_census(extraction_context(scan))
    assert census == pdf.PageCensus(pages=12, sampled_without_text=8)

    # One scanned page among text pages is found when the sample reaches it (first and last are always in).
    mixed = tmp_path / "mixed-cover.pdf"
    mixed.write_bytes(_joined(scanned_pages_pdf(["COVER"]), *[small_text_pdf()] * 11))
    census = pdf.page_census(extraction_context(mixed))
    assert census == pdf.PageCensus(pages=12, sampled_without_text=1)


def test_a_file_that_does_not_open_has_no_census(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(korean_invoice_pdf()[:300])
    assert pdf.page_census(extraction_context(broken)) is None


def test_a_file_too_short_to_split_is_not_sampled(tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(scanned_pages_pdf(["ONE", "TWO"]))
    assert pdf.page_census(extraction_context(scan), sample_above=2) == pdf.PageCensus(pages=2, sampled_without_text=0)
    assert pdf.page_census(extraction_context(scan), sample_above=1) == pdf.PageCensus(pages=2, sampled_without_text=2)
