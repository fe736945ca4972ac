"""The Info dictionary: read with pypdf (it decodes raw UTF-8 strings pdfium garbles), pdfium as a fallback."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import (
    ExtractionContext,
    not_about_the_file,
)

if TYPE_CHECKING:
    import pypdfium2

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


def read_info_with_pypdf(ctx: ExtractionContext) -> tuple[dict[str, Any] | None, bool | None]:
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


def info_from_pdfium(doc: pypdfium2.PdfDocument) -> dict[str, Any]:
    try:
        return dict(doc.get_metadata_dict(skip_empty=True))
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return {}


def normalise_metadata(info: dict[str, Any]) -> dict[str, str | None]:
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
