"""Is a file an HWP 5.0 or an HWPX document? From its bytes only (the upload's type sniffing)."""

from __future__ import annotations

import struct
from pathlib import Path

from fastapi_app.extractors.archive import SafeZip

HWP_MIME = "application/x-hwp"
HWPX_MIME = "application/hwp+zip"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SIGNATURE = b"HWP Document File"
_HWPX_PARTS = ("Contents/section0.xml", "version.xml")


def is_hwp5(path: Path) -> bool:
    """An OLE compound file whose FileHeader stream starts with the HWP signature."""
    with open(path, "rb") as fh:
        if fh.read(8) != _OLE_MAGIC:
            return False
    import olefile  # only for OLE files: the API process rarely needs it

    try:
        with olefile.OleFileIO(str(path)) as ole:
            if not ole.exists("FileHeader"):
                return False
            with ole.openstream("FileHeader") as stream:
                return bytes(stream.read(len(_SIGNATURE))) == _SIGNATURE
    except (OSError, ValueError, IndexError, KeyError, TypeError, struct.error):
        return False  # a damaged compound file is no HWP document as far as the upload can tell


def is_hwpx(archive: SafeZip) -> bool:
    """A zip whose `mimetype` member says application/hwp+zip, or that has the parts every HWPX has."""
    names = archive.names
    if "mimetype" in names and archive.read("mimetype", 64).strip() == HWPX_MIME.encode():
        return True
    return all(part in names for part in _HWPX_PARTS)
