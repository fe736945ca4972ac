"""A batch's ZIP unpacked into temp files, one per entry, through the same capped reader the workers use
(fastapi_app/extractors/archive.SafeZip): the declared sizes, ratios and total are checked before
anything is inflated, and every inflated byte is counted again.

Nothing is ever written under an entry's own name: each entry goes to a fresh temp file and its name is
only a display name (sanitised later like any upload's), so `../`, absolute paths and drive letters
reach no directory. Links and encrypted entries are refused per entry; a bomb refuses the whole ZIP.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi_app.core.errors import (
    AppError,
    ArchiveBomb,
    BatchTooManyFiles,
    FileTooLarge,
    UnsafeArchiveEntry,
    UnsupportedFileType,
)
from fastapi_app.extractors.archive import READ_CHUNK, ZIP_ERRORS, SafeZip
from fastapi_app.extractors.base import ArchiveBombError, ArchiveLimits
from fastapi_app.files.uploads import ReceivedUpload

# What libmagic calls an archive: such an entry is a nested archive, never unpacked.
ARCHIVE_MIME_TYPES = frozenset(
    {
        "application/zip",
        "application/x-zip-compressed",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/x-rar",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/zstd",
        "application/x-lzma",
    }
)
_ENCRYPTED_FLAG = 0x1


@dataclass(slots=True)
class ArchiveEntry:
    """One file of the ZIP: unpacked into `upload.temp_path`, or refused with `error`."""

    upload: ReceivedUpload
    error: AppError | None = None


def unpack_batch_archive(
    path: Path,
    limits: ArchiveLimits,
    new_temp_path: Callable[[], Path],
    *,
    max_files: int,
    max_file_size: int,
    entries: list[ArchiveEntry],
) -> list[ArchiveEntry]:
    """Unpack every file entry of the ZIP at `path` into `entries` (the caller deletes their temp paths on
    any outcome). Raises ArchiveBomb (the whole ZIP), BatchTooManyFiles, or UnsupportedFileType when the
    ZIP itself cannot be read."""
    try:
        archive = SafeZip(path, limits)
    except ArchiveBombError as exc:
        raise ArchiveBomb(exc.message) from None
    except ZIP_ERRORS:
        raise UnsupportedFileType("The 'archive' of a batch must be a readable ZIP file.") from None
    with archive:
        infos = archive.infos()
        if len(infos) > max_files:
            raise BatchTooManyFiles(
                f"The archive has {len(infos)} files; a batch holds at most {max_files}.",
                details={"max_files": max_files, "files": len(infos)},
            )
        for info in infos:
            upload = ReceivedUpload(temp_path=new_temp_path(), filename=info.filename, has_file=True)
            entry = ArchiveEntry(upload)
            entries.append(entry)
            entry.error = _refusal(info, max_file_size)
            if entry.error is not None:
                continue
            try:
                _extract(archive, info, upload)
            except ArchiveBombError as exc:
                raise ArchiveBomb(exc.message) from None
            except ZIP_ERRORS:
                upload.temp_path.unlink(missing_ok=True)
                entry.error = UnsafeArchiveEntry(f"The archive entry '{info.filename}' is damaged or unreadable.")
    return entries


def _refusal(info: zipfile.ZipInfo, max_file_size: int) -> AppError | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return UnsafeArchiveEntry(f"The archive entry '{info.filename}' is a symbolic link.")
    if info.flag_bits & _ENCRYPTED_FLAG:
        return UnsafeArchiveEntry(f"The archive entry '{info.filename}' is encrypted.")
    if info.file_size > max_file_size:
        return FileTooLarge(
            f"The file is larger than the upload limit of {max_file_size} bytes.",
            details={"max_upload_size": max_file_size},
        )
    return None


def _extract(archive: SafeZip, info: zipfile.ZipInfo, upload: ReceivedUpload) -> None:
    hasher = hashlib.sha256()
    with archive.open(info.filename) as reader, upload.temp_path.open("wb") as out:
        while chunk := reader.read(READ_CHUNK):
            hasher.update(chunk)
            out.write(chunk)
            upload.size += len(chunk)
        archive.count_inflated(reader.inflated)
    upload.sha256 = hasher.hexdigest()
