"""Hangul word-processor documents: HWP 5.0 (OLE compound file, ``hwp5``) and HWPX (OWPML zip,
``hwpx``), told apart by their first bytes."""

from __future__ import annotations

from fastapi_app.extractors.base import (
    CorruptFileError,
    ExtractionContext,
    ExtractionResult,
    FamilyExtractor,
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


def _extract(ctx: ExtractionContext) -> ExtractionResult:
    with open(ctx.path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE_MAGIC):
        from fastapi_app.extractors.hwp.hwp5 import read_hwp5

        return read_hwp5(ctx, ctx.path)
    if head.startswith(ZIP_MAGIC):
        from fastapi_app.extractors.hwp.hwpx import read_hwpx

        return read_hwpx(ctx, ctx.path)
    raise CorruptFileError("Not an HWP or HWPX document: unrecognised file signature")


__all__ = ["EXTRACTOR", "extract"]

EXTRACTOR = FamilyExtractor(name="hwp", version="1.0", run=_extract)
extract = EXTRACTOR.extract
