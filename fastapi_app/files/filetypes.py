"""Decide what a file really is from its bytes (libmagic), then check the client's claims.

Order of trust: content first, the extension second, the client's `file_type` last.
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from fastapi_app.core.errors import ArchiveBomb, FileTypeMismatch, UnsupportedFileType
from fastapi_app.core.vocabulary import FileFamily
from fastapi_app.extractors.archive import ZIP_ERRORS, SafeZip
from fastapi_app.extractors.base import ArchiveBombError, ArchiveLimits
from fastapi_app.extractors.hwp.sniff import HWP_MIME, HWPX_MIME, is_hwp5, is_hwpx
from fastapi_app.extractors.registry import SUPPORTED_TYPES, SupportedType, supported_type

if TYPE_CHECKING:
    from fastapi_app.core.config import Settings

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ODS = "application/vnd.oasis.opendocument.spreadsheet"
_XLS = "application/vnd.ms-excel"
# Containers libmagic reports for legacy/encrypted Office files; the extension says which.
_OLE_CONTAINERS = {
    "application/x-ole-storage",
    "application/cdfv2",
    "application/encrypted",
    "application/vnd.ms-office",
    "application/cdfv2-encrypted",
}
_GENERIC_ZIP = {"application/zip", "application/octet-stream"}
_ZIP_CANDIDATES = _GENERIC_ZIP | {_XLSX, _ODS, "application/vnd.ms-excel.sheet.macroenabled.12", HWPX_MIME}
_TEXT_MIMES = {"text/plain", "text/csv", "application/csv", "text/x-csv"}
_ALIASES = {
    "application/excel": _XLS,
    "application/x-excel": _XLS,
    "application/x-msexcel": _XLS,
    "image/x-ms-bmp": "image/bmp",
    "image/x-bmp": "image/bmp",
    "image/jpg": "image/jpeg",
}

_EXTENSION_FAMILY = {ext: t.family for t in SUPPORTED_TYPES for ext in t.extensions}
_FAMILY_EXTENSION = {t.mime_type: t.extensions[0] for t in SUPPORTED_TYPES}

# An ODS `mimetype` member is 46 bytes; nothing past this is read from it.
_MIMETYPE_READ_BYTES = 256

_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_FILENAME_LENGTH = 255


@dataclass(slots=True)
class DetectedType:
    mime_type: str
    family: str
    extension: str
    warnings: list[dict[str, str]] = field(default_factory=list)


def sanitize_filename(raw: str | None) -> str:
    """A display name that is safe in headers, logs and any filesystem.

    The stored file never uses it; this only makes what we echo back harmless.
    """
    name = (raw or "").replace("\\", "/")
    name = PurePosixPath(name).name if "/" in name else name
    name = unicodedata.normalize("NFC", name)
    cleaned = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"}).strip(" .")
    if not cleaned:
        cleaned = "upload"
    stem, dot, ext = cleaned.rpartition(".")
    if not dot:
        stem, ext = cleaned, ""
    if stem.upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    suffix = f".{ext}" if ext else ""
    if len(suffix) > 20:
        stem, suffix = stem + suffix, ""
    stem = stem[: MAX_FILENAME_LENGTH - len(suffix)]
    return f"{stem}{suffix}"


def _sniff(path: Path) -> str:
    import magic  # libmagic; imported lazily so the module loads without it for unit tests

    return str(magic.from_file(str(path), mime=True)).lower()


def _looks_like_text(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(8192)
    return b"\x00" not in head


def archive_limits(settings: Settings) -> ArchiveLimits:
    return ArchiveLimits(
        max_member_bytes=settings.ARCHIVE_MAX_MEMBER_SIZE,
        max_total_bytes=settings.ARCHIVE_MAX_TOTAL_SIZE,
        max_ratio=settings.ARCHIVE_MAX_RATIO,
    )


def _zip_office_kind(path: Path, limits: ArchiveLimits) -> str | None:
    """Which Office format a zip is, from its member names and at most a few bytes of `mimetype`.

    Opening it checks every member's declared size and ratio, so a bomb is refused at upload.
    """
    try:
        with SafeZip(path, limits) as archive:
            names = archive.names
            if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
                return _XLSX
            if is_hwpx(archive):
                return HWPX_MIME
            if "mimetype" in names and archive.read("mimetype", _MIMETYPE_READ_BYTES).strip() == _ODS.encode():
                return _ODS
    except ArchiveBombError as exc:
        raise ArchiveBomb(exc.message) from None
    except ZIP_ERRORS:
        return None
    return None


def detect_type(
    path: Path, filename: str, claimed_family: str | None, limits: ArchiveLimits | None = None
) -> DetectedType:
    extension = PurePosixPath(filename.lower()).suffix
    sniffed = _sniff(path)
    mime = _ALIASES.get(sniffed, sniffed)
    if mime in _ZIP_CANDIDATES and zipfile.is_zipfile(path):
        # Zip-based types libmagic names itself are opened too: their members' declared sizes are
        # checked here, at upload, whoever named the format.
        kind = _zip_office_kind(path, limits or ArchiveLimits())
        if mime == HWPX_MIME:
            mime = HWPX_MIME if kind == HWPX_MIME else "application/zip"
        mime = (kind or mime) if mime in _GENERIC_ZIP else mime
    if mime in _OLE_CONTAINERS or mime == HWP_MIME:
        # libmagic's word is not enough either way: an HWP document is an OLE file with a FileHeader
        # stream that starts with the HWP signature, whatever it is named.
        # libmagic's "x-hwp" without the stream (HWP 3, a damaged file) is no type we read.
        mime = HWP_MIME if is_hwp5(path) else ("application/octet-stream" if mime == HWP_MIME else mime)
    if mime in _OLE_CONTAINERS and _EXTENSION_FAMILY.get(extension) == FileFamily.EXCEL:
        mime = _XLS
    if (mime in _TEXT_MIMES or mime == "application/octet-stream") and extension == ".csv":
        mime = "text/csv" if mime != "application/octet-stream" or _looks_like_text(path) else mime

    entry: SupportedType | None = supported_type(mime)
    if entry is None:
        raise UnsupportedFileType(details={"detected_mime_type": mime, "filename_extension": extension or None})

    warnings: list[dict[str, str]] = []
    ext_family = _EXTENSION_FAMILY.get(extension)
    if ext_family is not None and ext_family != entry.family:
        raise FileTypeMismatch(
            f"The file is named '{extension}' but its content is {mime}.",
            details={"detected_mime_type": mime, "detected_file_type": entry.family, "filename_extension": extension},
        )
    if claimed_family and claimed_family != entry.family:
        raise FileTypeMismatch(
            f"file_type was '{claimed_family}' but the content is {entry.family} ({mime}).",
            details={
                "detected_mime_type": mime,
                "detected_file_type": entry.family,
                "claimed_file_type": claimed_family,
            },
        )
    if extension and extension not in entry.extensions:
        warnings.append(
            {
                "code": "EXTENSION_MISMATCH",
                "message": f"The file is named '{extension}' but its content is {mime}; processed by content.",
            }
        )
    return DetectedType(mime_type=mime, family=entry.family, extension=_FAMILY_EXTENSION[mime], warnings=warnings)
