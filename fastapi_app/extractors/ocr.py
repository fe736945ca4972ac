"""OCR with Tesseract (kor+eng by default). Interface stub: the implementation follows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi_app.extractors.base import ExtractionContext, OcrPageResult, OcrSummary

if TYPE_CHECKING:
    from PIL.Image import Image


class OcrUnavailable(Exception):
    """Tesseract or the requested language data is not installed."""


def is_available(languages: str = "kor+eng") -> bool:
    return False


def ocr_image(image: Image, ctx: ExtractionContext, *, source_dpi: float | None = None) -> OcrPageResult:
    """Recognise one page image; raises OcrUnavailable when Tesseract cannot run."""
    raise OcrUnavailable("OCR is not implemented yet")


def summarize(pages: list[OcrPageResult], ctx: ExtractionContext) -> OcrSummary:
    confidences = [p.confidence for p in pages if p.confidence is not None]
    return OcrSummary(
        languages=ctx.ocr_languages,
        pages=len(pages),
        mean_confidence=round(sum(confidences) / len(confidences), 2) if confidences else None,
        duration_ms=round(sum(p.duration_ms for p in pages), 2),
    )
