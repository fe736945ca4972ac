"""Which extractor handles which detected MIME type.

Modules are imported on first use so the API process never loads pypdfium2, Pillow or calamine.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

from fastapi_app.extractors.base import (
    ExtractionContext,
    ExtractionResult,
    FileFamily,
    UnsupportedContentError,
)


@dataclass(frozen=True, slots=True)
class SupportedType:
    mime_type: str
    family: FileFamily
    extensions: tuple[str, ...]
    module: str


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SUPPORTED_TYPES: tuple[SupportedType, ...] = (
    SupportedType("application/pdf", "pdf", (".pdf",), "pdf"),
    SupportedType(_XLSX, "excel", (".xlsx", ".xlsm"), "spreadsheet"),
    SupportedType("application/vnd.ms-excel.sheet.macroenabled.12", "excel", (".xlsm",), "spreadsheet"),
    SupportedType("application/vnd.ms-excel", "excel", (".xls",), "spreadsheet"),
    SupportedType("application/vnd.oasis.opendocument.spreadsheet", "excel", (".ods",), "spreadsheet"),
    SupportedType("text/csv", "excel", (".csv",), "spreadsheet"),
    SupportedType("image/png", "image", (".png",), "image"),
    SupportedType("image/jpeg", "image", (".jpg", ".jpeg"), "image"),
    SupportedType("image/tiff", "image", (".tif", ".tiff"), "image"),
    SupportedType("image/webp", "image", (".webp",), "image"),
    SupportedType("image/bmp", "image", (".bmp",), "image"),
    SupportedType("image/gif", "image", (".gif",), "image"),
)

_BY_MIME = {t.mime_type: t for t in SUPPORTED_TYPES}


def supported_type(mime_type: str) -> SupportedType | None:
    return _BY_MIME.get(mime_type)


def extract(ctx: ExtractionContext) -> ExtractionResult:
    entry = _BY_MIME.get(ctx.mime_type)
    if entry is None:
        raise UnsupportedContentError(f"No extractor for content type {ctx.mime_type}")
    module = importlib.import_module(f"fastapi_app.extractors.{entry.module}")
    started = time.perf_counter()
    result: ExtractionResult = module.extract(ctx)
    result.timings_ms["extract"] = round((time.perf_counter() - started) * 1000, 2)
    return result
