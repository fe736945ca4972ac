"""PDF extraction: pypdfium2 for page text, geometry and tables, pypdf for the Info dictionary.

pypdfium2 is used for text because it is an order of magnitude faster than pypdf on the corpus and
keeps CJK text intact; pypdf is used for metadata because it decodes Info strings stored as raw UTF-8
bytes (pdfium returns mojibake for those).

Tables use pdfplumber's table finder (edges -> intersections -> cells -> tables), but the edges and
words are read from pdfium rather than from pdfplumber's own pdfminer parse: that parse costs about
200 ms on a dense page, pdfium's a few ms, and it lets a cheap per-page check skip pages with no
table-like geometry at all. Pages without a text layer are rendered and sent to OCR (ocr.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import (
    CorruptFileError,
    ExtractionContext,
    ExtractionResult,
    ExtractorInfo,
    FamilyExtractor,
    PdfContent,
    not_about_the_file,
    short_reason,
)
from fastapi_app.extractors.pdf.document import copy_forbidden, open_with_pdfium
from fastapi_app.extractors.pdf.metadata import (
    info_from_pdfium,
    normalise_metadata,
    pdf_date_to_iso,
    read_info_with_pypdf,
)
from fastapi_app.extractors.pdf.pages import PageSpan, finish_pages, page_limit, scan_pages

if TYPE_CHECKING:
    import pypdfium2

__all__ = [
    "EXTRACTOR",
    "PageCensus",
    "PageSpan",
    "extract",
    "extract_page_span",
    "merge_page_spans",
    "page_census",
    "pdf_date_to_iso",
]


@dataclass(slots=True)
class _Opened:
    doc: pypdfium2.PdfDocument
    info: dict[str, Any]
    encrypted: bool
    copy_protected: bool
    page_count: int


@contextmanager
def _opened(ctx: ExtractionContext, result: ExtractionResult) -> Iterator[_Opened]:
    """The open document and its file-wide facts; any failure that is about the file is CORRUPT_FILE."""
    info, encrypted = read_info_with_pypdf(ctx)
    doc = open_with_pdfium(ctx, result)
    try:
        try:
            import pypdfium2.raw as pdfium_c

            if encrypted is None:
                encrypted = pdfium_c.FPDF_GetSecurityHandlerRevision(doc) != -1
            copy_protected = bool(encrypted) and copy_forbidden(doc)
            if info is None:
                info = info_from_pdfium(doc)
            opened = _Opened(doc, info, bool(encrypted), copy_protected, len(doc))
        except Exception as exc:
            raise _as_corrupt(exc) from None
        try:
            yield opened
        except CorruptFileError:
            raise
        except Exception as exc:
            raise _as_corrupt(exc) from None
    finally:
        doc.close()


def _as_corrupt(exc: Exception) -> Exception:
    if isinstance(exc, CorruptFileError) or not_about_the_file(exc):
        return exc
    return CorruptFileError(f"PDF could not be read: {short_reason(exc)}")


def _finish(ctx: ExtractionContext, result: ExtractionResult, opened: _Opened, spans: list[PageSpan]) -> None:
    limit = page_limit(ctx, opened.page_count)
    if limit < opened.page_count:
        result.warn("PAGE_LIMIT", f"Only the first {limit} of {opened.page_count} pages were extracted")
    pages, tables = finish_pages(ctx, spans, result)
    result.pdf = PdfContent(
        metadata=normalise_metadata(opened.info),
        page_count=opened.page_count,
        encrypted=opened.encrypted,
        copy_protected=opened.copy_protected,
        pages=pages,
        tables=tables,
    )
    result.text = "\n\n".join(page.text for page in pages)


def _extract(ctx: ExtractionContext) -> ExtractionResult:
    result = ExtractionResult.for_context(ctx)
    with _opened(ctx, result) as opened:
        limit = page_limit(ctx, opened.page_count)
        span = scan_pages(ctx, opened.doc, 1, limit, limit)
    _finish(ctx, result, opened, [span])
    return result


EXTRACTOR = FamilyExtractor(name="pdf", version="1.1", run=_extract)
extract = EXTRACTOR.extract


# --- page fan-out: parts of one document extracted apart (in parallel tasks), then merged -----------


@dataclass(frozen=True, slots=True)
class PageCensus:
    pages: int  # what an extraction would read (MAX_PDF_PAGES applied)
    sampled_without_text: int  # of up to FANOUT_SAMPLE_PAGES pages spread over the file


FANOUT_SAMPLE_PAGES = 8


def page_census(ctx: ExtractionContext, sample_above: int = 0) -> PageCensus | None:
    """The page count, and whether pages need OCR, judged from a sample of pages spread over the file
    (a page with no text layer is one OCR reads); None when the file does not open, which the
    whole-document extraction then reports with its own error. Files of at most `sample_above` pages
    are not sampled (`sampled_without_text` 0): they are not split anyway.

    Page fan-out pays only for pages that need OCR: a text page costs ~10 ms, a part ~100 ms."""
    try:
        doc = open_with_pdfium(ctx, ExtractionResult.for_context(ctx))
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return None
    try:
        pages = page_limit(ctx, len(doc))
        if pages <= sample_above:
            return PageCensus(pages, 0)
        count = min(FANOUT_SAMPLE_PAGES, pages)
        step = (pages - 1) / max(count - 1, 1)
        sample = {round(i * step) for i in range(count)}
        return PageCensus(pages, sum(1 for index in sample if not _has_text_layer(doc, index)))
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return None
    finally:
        doc.close()


def _has_text_layer(doc: pypdfium2.PdfDocument, index: int) -> bool:
    page = doc[index]
    try:
        textpage = page.get_textpage()
        try:
            return bool(textpage.get_text_range().strip())
        finally:
            textpage.close()
    finally:
        page.close()


def extract_page_span(ctx: ExtractionContext, first: int, last: int) -> PageSpan:
    """Pages ``first``..``last`` (1-based, inclusive) of the document, for ``merge_page_spans``."""
    with _opened(ctx, ExtractionResult.for_context(ctx)) as opened:
        return scan_pages(ctx, opened.doc, first, last, page_limit(ctx, opened.page_count))


def merge_page_spans(ctx: ExtractionContext, spans: list[PageSpan]) -> ExtractionResult:
    """The result one ``extract`` of the whole file gives, from spans covering its pages."""
    started = time.perf_counter()
    result = ExtractionResult.for_context(ctx)
    with _opened(ctx, result) as opened:
        pass
    _finish(ctx, result, opened, spans)
    result.extractor = ExtractorInfo(name=EXTRACTOR.name, version=EXTRACTOR.version)
    result.timings_ms["extract"] = round(
        sum(span.duration_ms for span in spans) + (time.perf_counter() - started) * 1000, 2
    )
    return result
