"""Which spreadsheet format a file is, decided from its bytes, not its name or claimed MIME type:
uploads are often mislabelled (an .xls that is really OOXML, an .xlsx that is really ODS)."""

from __future__ import annotations

import mmap
from typing import TYPE_CHECKING

from fastapi_app.extractors.archive import ZIP_ERRORS, SafeZip
from fastapi_app.extractors.base import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    UnsupportedContentError,
    short_reason,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Compound-file directory entries are 128 bytes with the name (UTF-16LE) first, so a real entry name
# starts at a file offset that is a multiple of 128.
_OLE_ENTRY_SIZE = 128
_ENCRYPTED_PACKAGE = "EncryptedPackage"  # encrypted OOXML: an OLE file holding the real zip, encrypted
VBA_STORAGE = "_VBA_PROJECT_CUR"  # the macro project of a legacy .xls
_NOT_SPREADSHEETS = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF-": "a PDF document",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}


def sniff_format(ctx: ExtractionContext) -> str:
    try:
        with open(ctx.path, "rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CorruptFileError(f"File could not be read: {exc.strerror or exc}") from None

    if head.startswith(_ZIP_MAGIC):
        return _zip_format(ctx)
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in ole_entry_names(ctx.path, (_ENCRYPTED_PACKAGE,)):
            raise EncryptedFileError("Workbook is password-protected (encrypted OOXML package)")
        return "xls"
    for magic, what in _NOT_SPREADSHEETS.items():
        if head.startswith(magic):
            raise UnsupportedContentError(f"File is {what}, not a spreadsheet")
    if ctx.mime_type == "text/csv" or ctx.path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return "csv"
    if not head:
        raise CorruptFileError("File is empty")
    raise CorruptFileError("Not a spreadsheet: unrecognised file signature")


def _zip_format(ctx: ExtractionContext) -> str:
    try:
        with SafeZip(ctx.path, ctx.archive_limits) as archive:
            names = archive.names
            mimetype = archive.read("mimetype", 100) if "mimetype" in names else b""
    except ZIP_ERRORS as exc:
        raise CorruptFileError(f"Damaged ZIP container: {short_reason(exc)}") from None
    if "xl/workbook.xml" in names or any(n.startswith("xl/worksheets/") for n in names):
        macro = "xl/vbaProject.bin" in names or ctx.path.suffix.lower() == ".xlsm"
        return "xlsm" if macro else "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "ods"
    raise UnsupportedContentError("ZIP archive is not a spreadsheet (no workbook inside)")


def zip_has(ctx: ExtractionContext, name: str) -> bool:
    try:
        with SafeZip(ctx.path, ctx.archive_limits) as archive:
            return name in archive.names
    except ZIP_ERRORS:
        return False


def ole_entry_names(path: Path, wanted: Iterable[str]) -> set[str]:
    """Which of ``wanted`` are names of directory entries (streams or storages) of an OLE file.

    A byte search instead of a compound-file parse: it needs no extra library, and mmap keeps it
    from reading a large legacy .xls into memory. Only hits on a directory-entry boundary count,
    so a cell that happens to contain the text does not.
    """
    found: set[str] = set()
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for name in wanted:
                needle = name.encode("utf-16-le")
                start = mm.find(needle)
                while start != -1:
                    if start % _OLE_ENTRY_SIZE == 0:
                        found.add(name)
                        break
                    start = mm.find(needle, start + 1)
    except (OSError, ValueError):
        return found
    return found
