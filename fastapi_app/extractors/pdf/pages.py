"""Page by page: text layer, tables, and OCR for pages without a text layer or with an unusable one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fastapi_app.extractors.base import (
    ExtractionContext,
    ExtractionResult,
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


def extract_pages(
    ctx: ExtractionContext, doc: pypdfium2.PdfDocument, page_count: int, result: ExtractionResult
) -> tuple[list[PdfPage], list[Table]]:
    limit = min(page_count, max(ctx.max_pages, 0))
    if limit < page_count:
        result.warn("PAGE_LIMIT", f"Only the first {limit} of {page_count} pages were extracted")

    ocr = PageOcr(ctx, result)
    pages: list[PdfPage] = []
    tables: list[Table] = []
    without_text: list[int] = []
    unreadable: list[int] = []
    tables_failed: list[int] = []
    unusable: list[tuple[int, GarbledReason, bool]] = []  # page, why, whether OCR text replaced it
    expect_korean = "kor" in ctx.ocr_languages.split("+")
    # ctx.extra["pdf_tables"] = False skips the table pass (benchmarks, callers that only want text)
    want_tables = bool(ctx.extra.get("pdf_tables", True))
    for index in range(limit):
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

    if ocr.pages:
        from fastapi_app.extractors import ocr as ocr_module

        result.ocr = ocr_module.summarize(ocr.pages, ctx)
    for number, reason, replaced in unusable:
        details = {"page": number, "reason": reason}
        if replaced:
            message = f"Page {number}: the text layer is unusable ({reason}); OCR text used instead"
            result.warn("PAGE_OCR_FALLBACK", message, details=details)
        else:
            message = f"Page {number}: the text layer is unusable ({reason}) and OCR gave no text"
            result.warn("TEXT_LAYER_UNUSABLE", message, details=details)
    if without_text:
        hint = "OCR found no text" if ocr.pages else "OCR needed"
        result.warn("NO_TEXT_LAYER", f"No text layer on pages {page_ranges(without_text)}; {hint}")
    if unreadable:
        result.warn("PAGE_UNREADABLE", f"Pages {page_ranges(unreadable)} could not be read")
    if tables_failed:
        result.warn("TABLES_UNREADABLE", f"Tables could not be read on pages {page_ranges(tables_failed)}")
    return pages, tables
