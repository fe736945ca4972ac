"""Page previews of an original: a PDF page rendered by pdfium, or the image itself, as PNG.

Rendered in the API process on demand, in a worker thread so the event loop never waits on pdfium or
Pillow, and through the storage backend's `open_local` (the file itself locally, a temp copy from S3).
pdfium is not thread-safe: renders take one lock, and the page count and pixel limits bound each one.
The libraries load on the first preview, not at import (the API otherwise never needs them).
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from fastapi_app.core.config import Settings
from fastapi_app.core.errors import BadRequest, PageNotFound, PreviewUnavailable
from fastapi_app.core.security import decrypt_secret
from fastapi_app.core.vocabulary import FileFamily
from fastapi_app.files.storage import StoredFileMissing, get_storage
from fastapi_app.models import Document

# A page far taller than wide (a receipt roll) must not become a huge bitmap: its width gives way.
MAX_PREVIEW_HEIGHT = 8000
_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
_PDFIUM_LOCK = threading.Lock()
# Image previews decoded at once in this process (each holds a full decoded image).
_IMAGE_SLOTS = threading.BoundedSemaphore(2)


@dataclass(frozen=True, slots=True)
class Pages:
    page_count: int
    previewable: bool


def _password(document: Document) -> str | None:
    # As the worker does (tasks/pipeline.py): the upload's password, decrypted only to open the file.
    return decrypt_secret(document.encrypted_password) if document.encrypted_password else None


def _open_pdf(path: Path, document: Document) -> Any:
    """The pdfium document, opened with the extractors' own rules for passwords; PREVIEW_UNAVAILABLE
    when it cannot be opened (corrupt, encrypted without the right password)."""
    from fastapi_app.extractors.base import ExtractionContext, ExtractionError, ExtractionResult
    from fastapi_app.extractors.pdf.document import open_with_pdfium

    ctx = ExtractionContext(
        path=path,
        mime_type=document.mime_type,
        file_type=FileFamily.PDF,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        password=_password(document),
    )
    try:
        return open_with_pdfium(ctx, ExtractionResult.for_context(ctx))
    except ExtractionError as exc:
        raise PreviewUnavailable(
            f"The PDF cannot be opened: {exc.message}", details={"reason": exc.error_code}
        ) from None


def _pdf_page_count(path: Path, document: Document) -> int:
    with _PDFIUM_LOCK:
        pdf = _open_pdf(path, document)
        try:
            return len(pdf)
        finally:
            pdf.close()


def _render_pdf_page(path: Path, document: Document, page_number: int, width: int, settings: Settings) -> bytes:
    with _PDFIUM_LOCK:
        pdf = _open_pdf(path, document)
        try:
            count = len(pdf)
            if page_number > min(count, settings.MAX_PDF_PAGES):
                raise PageNotFound(details={"page_count": count})
            page = pdf[page_number - 1]
            try:
                page_width, page_height = page.get_size()
                if page_width <= 0 or page_height <= 0:
                    raise PreviewUnavailable("The page has no area.")
                scale = width / page_width
                if page_height * scale > MAX_PREVIEW_HEIGHT:
                    scale = MAX_PREVIEW_HEIGHT / page_height
                bitmap = page.render(scale=scale, may_draw_forms=True)
                image = bitmap.to_pil()
            finally:
                page.close()
        finally:
            pdf.close()
    return _png(image)


def _render_image(path: Path, width: int, settings: Settings) -> bytes:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with _IMAGE_SLOTS, Image.open(path) as img:
            if img.width * img.height > settings.MAX_IMAGE_PIXELS:
                raise PreviewUnavailable("The image has more pixels than MAX_IMAGE_PIXELS.")
            # JPEG: decode at a reduced scale straight away when the target is much smaller. The size asked
            # for is the stored one: with a quarter turn in EXIF, the upright width is the stored height.
            if img.getexif().get(_EXIF_ORIENTATION) in _QUARTER_TURNS:
                img.draft("RGB", (max(1, img.width * width // max(img.height, 1)), width))
            else:
                img.draft("RGB", (width, max(1, img.height * width // max(img.width, 1))))
            upright = ImageOps.exif_transpose(img)
            if upright.mode not in {"RGB", "RGBA", "L", "LA"}:
                has_alpha = "A" in upright.getbands() or "transparency" in upright.info
                upright = upright.convert("RGBA" if has_alpha else "RGB")
            if upright.width > width:  # downscaled to the width asked for, never enlarged
                height = max(1, round(upright.height * width / upright.width))
                upright = upright.resize((width, height), Image.Resampling.LANCZOS)
            return _png(upright)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise PreviewUnavailable(f"The image cannot be read: {type(exc).__name__}") from None


def _png(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=4)
    return out.getvalue()


def _previewable(document: Document) -> bool:
    return document.file_type in (FileFamily.PDF, FileFamily.IMAGE)


def _with_local_copy(document: Document, work: Callable[[Path], Any]) -> Any:
    try:
        with get_storage().open_local(document.stored_name) as path:
            return work(path)
    except StoredFileMissing:
        raise BadRequest("The stored file is missing.", error_code="FILE_MISSING") from None


async def pages(document: Document) -> Pages:
    """How many pages the document has to preview (0 and not previewable for workbooks, and for a PDF
    that cannot be opened)."""
    if not _previewable(document):
        return Pages(0, False)
    if document.file_type == FileFamily.IMAGE:
        return Pages(1, True)
    try:
        count = await anyio.to_thread.run_sync(
            _with_local_copy, document, functools.partial(_pdf_page_count, document=document)
        )
    except PreviewUnavailable:
        return Pages(0, False)
    return Pages(int(count), count > 0)


async def render(document: Document, page_number: int, width: int, settings: Settings) -> bytes:
    """Page `page_number` (from 1) as PNG, `width` pixels wide (an image narrower than that keeps its own
    width); 404 PREVIEW_UNAVAILABLE for other kinds of file, 404 PAGE_NOT_FOUND past the last page."""
    if not _previewable(document):
        raise PreviewUnavailable()
    width = min(width, settings.PREVIEW_MAX_WIDTH)
    if document.file_type == FileFamily.IMAGE:
        if page_number != 1:
            raise PageNotFound(details={"page_count": 1})
        work = functools.partial(_render_image, width=width, settings=settings)
    else:
        work = functools.partial(
            _render_pdf_page, document=document, page_number=page_number, width=width, settings=settings
        )
    png: bytes = await anyio.to_thread.run_sync(_with_local_copy, document, work)
    return png
