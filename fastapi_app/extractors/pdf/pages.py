"""Page by page: text layer, tables, and OCR for pages without a text layer or with an unusable one."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from fastapi_app.extractors.base import (
    ExtractionContext,
    ExtractionResult,
    ExtractionWarning,
    OcrPageResult,
    PdfPage,
    Table,
    not_about_the_file,
)
from fastapi_app.extractors.pdf.garbled import GarbledReason, garbled_reason
from fastapi_app.extractors.pdf.ocr_fallback import PageOcr
from fastapi_app.extractors.pdf.tables import find_page_tables
from fastapi_app.extractors.pdf.text import clean_text, page_ranges

if TYPE_CHECKING:
    import pypdfium2


class PageSpan(BaseModel):
    """What scanning pages ``first``..``last`` (1-based, inclusive) found, before the document-wide warnings
    are written: a part of a fanned-out document stores it (JSON), and spans concatenated in page order
    finish into the same result as one pass over all pages (``finish_pages``)."""

    first: int
    last: int
    pages: list[PdfPage] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    ocr_pages: list[OcrPageResult] = Field(default_factory=list)
    # Warnings raised while scanning (OCR_PAGE_FAILED, OCR_DISABLED, ...), in page order
    warnings: list[ExtractionWarning] = Field(default_factory=list)
    without_text: list[int] = Field(default_factory=list)
    unreadable: list[int] = Field(default_factory=list)
    tables_failed: list[int] = Field(default_factory=list)
    unusable: list[tuple[int, str, bool]] = Field(default_factory=list)  # page, why, whether OCR text replaced it
    duration_ms: float = 0.0


# OCR gives up for the whole document on these; each part of a fanned-out document says so once.
_DOCUMENT_WIDE_OCR_WARNINGS = frozenset({"OCR_DISABLED", "OCR_UNAVAILABLE"})


def page_limit(ctx: ExtractionContext, page_count: int) -> int:
    return min(page_count, max(ctx.max_pages, 0))


def scan_pages(ctx: ExtractionContext, doc: pypdfium2.PdfDocument, first: int, last: int, limit: int) -> PageSpan:
    """Text layer, tables and OCR of pages ``first``..``last``; ``limit`` is the document's page total."""
    started = time.perf_counter()
    span = PageSpan(first=first, last=last)
    scratch = ExtractionResult.for_context(ctx)  # collects the warnings PageOcr raises
    ocr = PageOcr(ctx, scratch)
    pages = span.pages
    tables = span.tables
    without_text = span.without_text
    unreadable = span.unreadable
    tables_failed = span.tables_failed
    unusable: list[tuple[int, GarbledReason, bool]] = []
    expect_korean = "kor" in ctx.ocr_languages.split("+")
    # ctx.extra["pdf_tables"] = False skips the table pass (benchmarks, callers that only want text)
    want_tables = bool(ctx.extra.get("pdf_tables", True))
    for index in range(first - 1, last):
        number = index + 1
        width = height = None
        text = ""
        page_ocr: OcrPageResult | None = None
        garbled: GarbledReason | None = None
        try:
            page = doc[index]
            try:
                width, height = (round(v, 2) for v in page.get_size())
                textpage = page.get_textpage()
                try:
                    raw = textpage.get_text_range()
                    text = clean_text(raw)
                    if text.strip():
                        garbled = garbled_reason(raw, textpage, expect_korean=expect_korean)
                    tabular = want_tables and text.strip() and not garbled
                    if tabular and not find_page_tables(page, textpage, number, tables):
                        tables_failed.append(number)
                finally:
                    textpage.close()
                if not text.strip() or garbled:
                    page_ocr = ocr.recognise(page, number, limit)
            finally:
                page.close()
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            unreadable.append(number)
        has_text = bool(text.strip())
        source: Literal["text_layer", "ocr", "none"] = "text_layer" if has_text else "none"
        if garbled is not None:
            unusable.append((number, garbled, page_ocr is not None and bool(clean_text(page_ocr.text).strip())))
        if page_ocr is not None and (garbled is None or clean_text(page_ocr.text).strip()):
            text = clean_text(page_ocr.text)
            source = "ocr" if text.strip() else "none"
        if source == "none" and number not in unreadable:
            without_text.append(number)
        pages.append(
            PdfPage(
                number=number,
                text=text,
                char_count=len(text),
                has_text_layer=has_text,
                text_source=source,
                ocr=page_ocr,
                width_pt=width,
                height_pt=height,
            )
        )
        ctx.progress(number, limit, "page")

    span.ocr_pages = ocr.pages
    span.warnings = scratch.warnings
    span.unusable = [(number, str(reason), replaced) for number, reason, replaced in unusable]
    span.duration_ms = round((time.perf_counter() - started) * 1000, 2)
    return span


def finish_pages(
    ctx: ExtractionContext, spans: list[PageSpan], result: ExtractionResult
) -> tuple[list[PdfPage], list[Table]]:
    """The pages and tables of the spans (in page order), with the warnings one pass would have written."""
    spans = sorted(spans, key=lambda span: span.first)
    pages = [page for span in spans for page in span.pages]
    tables = [table for span in spans for table in span.tables]
    ocr_pages = [page for span in spans for page in span.ocr_pages]
    without_text = [number for span in spans for number in span.without_text]
    unreadable = [number for span in spans for number in span.unreadable]
    tables_failed = [number for span in spans for number in span.tables_failed]
    unusable = [entry for span in spans for entry in span.unusable]
    gave_up = False
    for span in spans:
        for warning in span.warnings:
            if warning.code in _DOCUMENT_WIDE_OCR_WARNINGS:
                if gave_up:
                    continue
                gave_up = True
            result.warnings.append(warning)

    if ocr_pages:
        from fastapi_app.extractors import ocr as ocr_module

        result.ocr = ocr_module.summarize(ocr_pages, ctx)
    for number, reason, replaced in unusable:
        details = {"page": number, "reason": reason}
        if replaced:
            message = f"Page {number}: the text layer is unusable ({reason}); OCR text used instead"
            result.warn("PAGE_OCR_FALLBACK", message, details=details)
        else:
            message = f"Page {number}: the text layer is unusable ({reason}) and OCR gave no text"
            result.warn("TEXT_LAYER_UNUSABLE", message, details=details)
    if without_text:
        hint = "OCR found no text" if ocr_pages else "OCR needed"
        result.warn("NO_TEXT_LAYER", f"No text layer on pages {page_ranges(without_text)}; {hint}")
    if unreadable:
        result.warn("PAGE_UNREADABLE", f"Pages {page_ranges(unreadable)} could not be read")
    if tables_failed:
        result.warn("TABLES_UNREADABLE", f"Tables could not be read on pages {page_ranges(tables_failed)}")
    return pages, tables
