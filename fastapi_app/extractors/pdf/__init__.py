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

from fastapi_app.extractors.base import (
    CorruptFileError,
    ExtractionContext,
    ExtractionResult,
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
from fastapi_app.extractors.pdf.pages import extract_pages

__all__ = ["EXTRACTOR", "extract", "pdf_date_to_iso"]


def _extract(ctx: ExtractionContext) -> ExtractionResult:
    result = ExtractionResult.for_context(ctx)
    info, encrypted = read_info_with_pypdf(ctx)
    doc = open_with_pdfium(ctx, result)
    try:
        import pypdfium2.raw as pdfium_c

        if encrypted is None:
            encrypted = pdfium_c.FPDF_GetSecurityHandlerRevision(doc) != -1
        copy_protected = bool(encrypted) and copy_forbidden(doc)
        if info is None:
            info = info_from_pdfium(doc)
        page_count = len(doc)
        pages, tables = extract_pages(ctx, doc, page_count, result)
    except CorruptFileError:
        raise
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"PDF could not be read: {short_reason(exc)}") from None
    finally:
        doc.close()

    result.pdf = PdfContent(
        metadata=normalise_metadata(info),
        page_count=page_count,
        encrypted=bool(encrypted),
        copy_protected=copy_protected,
        pages=pages,
        tables=tables,
    )
    result.text = "\n\n".join(page.text for page in pages)
    return result


EXTRACTOR = FamilyExtractor(name="pdf", version="1.1", run=_extract)
extract = EXTRACTOR.extract
