"""Pages without a text layer, or with an unusable one (garbled.py): rendered at a DPI that respects the
pixel limit, then sent to OCR (which turns them upright first when they are sideways or upside down)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi_app.extractors.base import (
    ExtractionContext,
    ExtractionResult,
    OcrPageResult,
    not_about_the_file,
    short_reason,
)

if TYPE_CHECKING:
    import pypdfium2


class PageOcr:
    """Renders text-less or garbled pages and sends them to OCR; gives up for the document after the first
    OcrUnavailable, since a missing Tesseract will not appear on the next page."""

    def __init__(self, ctx: ExtractionContext, result: ExtractionResult) -> None:
        self.ctx = ctx
        self.result = result
        self.pages: list[OcrPageResult] = []
        self.failed: list[int] = []
        self._stopped = False

    def recognise(self, page: pypdfium2.PdfPage, number: int, total: int) -> OcrPageResult | None:
        if self._stopped:
            return None
        if not self.ctx.ocr_enabled:
            self._stop("OCR_DISABLED", "OCR is disabled, so pages without a text layer have no text")
            return None
        from fastapi_app.extractors import ocr

        try:
            dpi = _render_dpi(page, self.ctx)
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            try:
                image = bitmap.to_pil()
                recognised = ocr.ocr_image(image, self.ctx, source_dpi=dpi)
            finally:
                bitmap.close()
        except getattr(ocr, "OcrPageError", ()) as exc:
            # One page Tesseract could not read (timeout, crash): the next page may still work.
            self.failed.append(number)
            self.result.warn("OCR_PAGE_FAILED", f"OCR failed on page {number}: {short_reason(exc)}")
            return None
        except ocr.OcrUnavailable as exc:
            self._stop("OCR_UNAVAILABLE", f"OCR is not available: {short_reason(exc)}")
            return None
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            self.failed.append(number)
            self.result.warn("OCR_PAGE_FAILED", f"Page {number} could not be rendered for OCR: {short_reason(exc)}")
            return None
        self.pages.append(recognised)
        self.ctx.progress(number, total, "ocr")
        return recognised

    def _stop(self, code: str, message: str) -> None:
        self._stopped = True
        self.result.warn(code, message)


def _render_dpi(page: pypdfium2.PdfPage, ctx: ExtractionContext) -> int:
    """ctx.ocr_dpi, lowered for oversized pages so the bitmap stays under the pixel limit."""
    width, height = page.get_size()
    dpi = max(ctx.ocr_dpi, 1)
    pixels = (width * dpi / 72) * (height * dpi / 72)
    if pixels > ctx.max_image_pixels > 0:
        dpi = max(int(dpi * (ctx.max_image_pixels / pixels) ** 0.5), 1)
    return dpi
