"""Which extractor handles which detected MIME type.

One line per file family: the family, the package (or module) under fastapi_app.extractors that
exposes its ``EXTRACTOR``, and the MIME types it reads with their extensions (the first is the one a
mislabelled upload is renamed to). A new family is a new package and one more entry here.

Packages are imported on first use so the API process never loads pypdfium2, Pillow or calamine (olefile
only when an OLE file is uploaded: the HWP check of `hwp.sniff`).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

from fastapi_app.extractors.base import (
    ExtractionContext,
    ExtractionResult,
    Extractor,
    FileFamily,
    UnsupportedContentError,
)
from fastapi_app.extractors.hwp.sniff import HWP_MIME, HWPX_MIME


@dataclass(frozen=True, slots=True)
class Family:
    name: FileFamily
    module: str
    types: tuple[tuple[str, tuple[str, ...]], ...]  # (MIME type, extensions)


@dataclass(frozen=True, slots=True)
class SupportedType:
    mime_type: str
    family: FileFamily
    extensions: tuple[str, ...]
    module: str


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FAMILIES: tuple[Family, ...] = (
    Family("pdf", "pdf", (("application/pdf", (".pdf",)),)),
    Family(
        "excel",
        "spreadsheet",
        (
            (_XLSX, (".xlsx", ".xlsm")),
            ("application/vnd.ms-excel.sheet.macroenabled.12", (".xlsm",)),
            ("application/vnd.ms-excel", (".xls",)),
            ("application/vnd.oasis.opendocument.spreadsheet", (".ods",)),
            ("text/csv", (".csv",)),
        ),
    ),
    Family(
        "image",
        "image",
        (
            ("image/png", (".png",)),
            ("image/jpeg", (".jpg", ".jpeg")),
            ("image/tiff", (".tif", ".tiff")),
            ("image/webp", (".webp",)),
            ("image/bmp", (".bmp",)),
            ("image/gif", (".gif",)),
        ),
    ),
    Family("hwp", "hwp", ((HWP_MIME, (".hwp",)), (HWPX_MIME, (".hwpx",)))),
)

SUPPORTED_TYPES: tuple[SupportedType, ...] = tuple(
    SupportedType(mime_type, family.name, extensions, family.module)
    for family in FAMILIES
    for mime_type, extensions in family.types
)

_BY_MIME = {t.mime_type: t for t in SUPPORTED_TYPES}


def supported_type(mime_type: str) -> SupportedType | None:
    return _BY_MIME.get(mime_type)


def extractor_for(mime_type: str) -> Extractor:
    entry = _BY_MIME.get(mime_type)
    if entry is None:
        raise UnsupportedContentError(f"No extractor for content type {mime_type}")
    extractor: Extractor = importlib.import_module(f"fastapi_app.extractors.{entry.module}").EXTRACTOR
    return extractor


def extract(ctx: ExtractionContext) -> ExtractionResult:
    extractor = extractor_for(ctx.mime_type)
    started = time.perf_counter()
    result = extractor.extract(ctx)
    result.timings_ms["extract"] = round((time.perf_counter() - started) * 1000, 2)
    return result
