"""Opening a PDF with pdfium: passwords, and the permissions that say whether text may be copied."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi_app.extractors.base import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    PasswordIncorrectError,
    not_about_the_file,
    short_reason,
)

if TYPE_CHECKING:
    import pypdfium2


# pdfium's FPDF_ERR_PASSWORD: the document needs a (different) password.
_PDFIUM_ERR_PASSWORD = 4
# Permission bit 5 (PDF 32000-1, table 22): copy or otherwise extract text and graphics.
_PERMISSION_EXTRACT = 1 << 4


def copy_forbidden(doc: pypdfium2.PdfDocument) -> bool:
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


def open_with_pdfium(ctx: ExtractionContext, result: ExtractionResult) -> pypdfium2.PdfDocument:
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
