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

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    PasswordIncorrectError,
    PdfContent,
    PdfPage,
    not_about_the_file,
    short_reason,
)

if TYPE_CHECKING:
    import pypdfium2

# pdfium's FPDF_ERR_PASSWORD: the document needs a (different) password.
_PDFIUM_ERR_PASSWORD = 4
# Permission bit 5 (PDF 32000-1, table 22): copy or otherwise extract text and graphics.
_PERMISSION_EXTRACT = 1 << 4

_METADATA_KEYS: dict[str, str] = {
    "title": "Title",
    "author": "Author",
    "subject": "Subject",
    "keywords": "Keywords",
    "creator": "Creator",
    "producer": "Producer",
    "creation_date": "CreationDate",
    "modification_date": "ModDate",
}
_DATE_KEYS = frozenset({"creation_date", "modification_date"})

# D:YYYYMMDDHHmmSSOHH'mm' where everything after the year is optional (PDF 32000-1, 7.9.4).
# Some producers drop the "D:" prefix or write "Z00'00'", both accepted here.
_PDF_DATE = re.compile(
    r"^\s*(?:D:)?(?P<Y>\d{4})(?P<m>\d{2})?(?P<d>\d{2})?(?P<H>\d{2})?(?P<M>\d{2})?(?P<S>\d{2})?"
    r"(?:\.\d+)?\s*(?P<tz>[Zz+\-])?(?P<th>\d{2})?'?(?P<tm>\d{2})?'?"
)
# Control characters pdfium emits for soft hyphens and unmapped glyphs; \t and \n are kept.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def extract(ctx: ExtractionContext) -> ExtractionResult:
    result = ExtractionResult.for_context(ctx)
    info, encrypted = _read_info_with_pypdf(ctx)
    doc = _open_with_pdfium(ctx, result)
    try:
        import pypdfium2.raw as pdfium_c

        if encrypted is None:
            encrypted = pdfium_c.FPDF_GetSecurityHandlerRevision(doc) != -1
        copy_protected = bool(encrypted) and _copy_forbidden(doc)
        if info is None:
            info = _info_from_pdfium(doc)
        page_count = len(doc)
        pages, tables = _extract_pages(ctx, doc, page_count, result)
    except CorruptFileError:
        raise
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"PDF could not be read: {short_reason(exc)}") from None
    finally:
        doc.close()

    result.pdf = PdfContent(
        metadata=_normalise_metadata(info),
        page_count=page_count,
        encrypted=bool(encrypted),
        copy_protected=copy_protected,
        pages=pages,
        tables=tables,
    )
    result.text = "\n\n".join(page.text for page in pages)
    return result


def _copy_forbidden(doc: pypdfium2.PdfDocument) -> bool:
    """True when the permissions forbid copying text (bit 5, "extract"), whoever opened the file.

    The user permissions are read, not the effective ones: with an owner password pdfium grants
    everything, but the document is still marked as copy-protected for whoever handles the result.
    """
    import pypdfium2.raw as pdfium_c

    try:
        permissions = pdfium_c.FPDF_GetDocUserPermissions(doc) & 0xFFFFFFFF
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return False
    return not permissions & _PERMISSION_EXTRACT


def _open_with_pdfium(ctx: ExtractionContext, result: ExtractionResult) -> pypdfium2.PdfDocument:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(ctx.path, password=ctx.password)
    except FileNotFoundError:
        raise
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) != _PDFIUM_ERR_PASSWORD:
            raise CorruptFileError(f"PDF could not be opened: {short_reason(exc)}") from None
        if not ctx.password:
            raise EncryptedFileError("PDF is password-protected and no password was given") from None
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"PDF could not be opened: {short_reason(exc)}") from None

    # A wrong password on a file that only has an owner password (opens with an empty user
    # password) should not block extraction, since the content was never protected.
    try:
        doc = pdfium.PdfDocument(ctx.path, password=None)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise PasswordIncorrectError("The password given does not open this PDF") from None
    result.warn("PASSWORD_IGNORED", "The password given is wrong, but the PDF opens without one")
    return doc


def _read_info_with_pypdf(ctx: ExtractionContext) -> tuple[dict[str, Any] | None, bool | None]:
    """Info dictionary and encryption flag; (None, None) when pypdf cannot read the file.

    pypdf is stricter than pdfium on damaged files, so its failures never fail the extraction.
    """
    try:
        from pypdf import PdfReader

        reader = PdfReader(ctx.path, strict=False)
        encrypted = bool(reader.is_encrypted)
        if encrypted and not _pypdf_decrypt(reader, ctx.password):
            return None, True
        raw = reader.trailer.get("/Info")
        raw = raw.get_object() if raw is not None else None
        if not isinstance(raw, dict):
            return {}, encrypted
        return {str(k).lstrip("/"): _pypdf_value(v) for k, v in raw.items()}, encrypted
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return None, None


def _pypdf_decrypt(reader: Any, password: str | None) -> bool:
    for candidate in (password, ""):
        if candidate is None:
            continue
        try:
            if reader.decrypt(candidate):
                return True
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            return False
    return False


def _pypdf_value(value: Any) -> str | None:
    from pypdf.generic import IndirectObject

    if isinstance(value, IndirectObject):
        value = value.get_object()
    if isinstance(value, bytes):
        # Info strings are meant to be PDFDocEncoding or UTF-16, but Word exports often hold raw
        # UTF-8 bytes; latin-1 is the nearest lossless guess for anything else.
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    if isinstance(value, str):
        return str(value)
    return None


def _info_from_pdfium(doc: pypdfium2.PdfDocument) -> dict[str, Any]:
    try:
        return dict(doc.get_metadata_dict(skip_empty=True))
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return {}


def _normalise_metadata(info: dict[str, Any]) -> dict[str, str | None]:
    metadata: dict[str, str | None] = {}
    for key, info_key in _METADATA_KEYS.items():
        value = info.get(info_key)
        text = value.replace("\x00", "").strip() if isinstance(value, str) else None
        if text and key in _DATE_KEYS:
            text = pdf_date_to_iso(text)
        metadata[key] = text or None
    return metadata


def pdf_date_to_iso(value: str) -> str | None:
    """PDF "D:20220403203552+02'00'" -> "2022-04-03T20:35:52+02:00"; None when it is not a date."""
    match = _PDF_DATE.match(value)
    if not match:
        return None
    part = match.groupdict()
    try:
        tz = None
        if part["tz"] in ("Z", "z"):
            tz = UTC
        elif part["tz"]:
            offset = timedelta(hours=int(part["th"] or 0), minutes=int(part["tm"] or 0))
            tz = timezone(-offset if part["tz"] == "-" else offset)
        parsed = datetime(
            int(part["Y"]),
            int(part["m"] or 1),
            int(part["d"] or 1),
            int(part["H"] or 0),
            int(part["M"] or 0),
            int(part["S"] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return parsed.isoformat()


def _extract_pages(
    ctx: ExtractionContext, doc: pypdfium2.PdfDocument, page_count: int, result: ExtractionResult
) -> list[PdfPage]:
    limit = min(page_count, max(ctx.max_pages, 0))
    if limit < page_count:
        result.warn("PAGE_LIMIT", f"Only the first {limit} of {page_count} pages were extracted")

    pages: list[PdfPage] = []
    without_text: list[int] = []
    unreadable: list[int] = []
    for index in range(limit):
        number = index + 1
        width = height = None
        text = ""
        try:
            page = doc[index]
            try:
                width, height = (round(v, 2) for v in page.get_size())
                textpage = page.get_textpage()
                try:
                    text = _clean_text(textpage.get_text_range())
                finally:
                    textpage.close()
            finally:
                page.close()
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            unreadable.append(number)
        has_text = bool(text.strip())
        if not has_text and number not in unreadable:
            without_text.append(number)
        pages.append(
            PdfPage(
                number=number,
                text=text,
                char_count=len(text),
                has_text_layer=has_text,
                width_pt=width,
                height_pt=height,
            )
        )
        ctx.progress(number, limit, "page")

    if without_text:
        result.warn("NO_TEXT_LAYER", f"No text layer on pages {_page_ranges(without_text)}; OCR needed")
    if unreadable:
        result.warn("PAGE_UNREADABLE", f"Pages {_page_ranges(unreadable)} could not be read")
    return pages


def _clean_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_CHARS.sub("", text)
    return _TRAILING_SPACE.sub("\n", text).strip()


def _page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7", so a 500-page scan does not make a 2 KB warning."""
    spans: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        spans.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(spans)
