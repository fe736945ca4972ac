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

    pages = pdf.pages_to_extract(ctx)
    assert pages == 5
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
