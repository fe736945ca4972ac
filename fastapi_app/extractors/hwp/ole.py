"""The OLE compound file of an HWP 5.0 document: the FileHeader, the streams and the summary
properties (Hancom, "HWP 5.0 file format", revision 1.3, §3.2).

olefile reads the compound file. The `\\x05HwpSummaryInformation` property set is read here: it is a
standard property set (MS-OLEPS), but Hangul writes its strings as VT_LPWSTR, which olefile 0.47's
``getproperties`` decodes from the wrong offset (the text runs on into the next property).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import olefile

from fastapi_app.extractors.base import CorruptFileError, short_reason

SIGNATURE = b"HWP Document File"
FILE_HEADER_SIZE = 256
SUMMARY_STREAM = "\x05HwpSummaryInformation"
# What olefile raises on a damaged compound file (its own errors are OSErrors; a damaged directory
# gives entries of the wrong kind or indexes out of range).
OLE_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, struct.error, IndexError, KeyError, TypeError)
# Streams larger than this are not read whole (a real section is a few MB at most).
MAX_STREAM_BYTES = 256 * 1024 * 1024

FLAG_COMPRESSED = 1 << 0
FLAG_PASSWORD = 1 << 1
FLAG_DISTRIBUTION = 1 << 2

_SECTION = re.compile(r"^Section(\d+)$")
# Summary property ids (FMTID_SummaryInformation) and the names the result uses.
_SUMMARY_NAMES = {
    2: "title",
    3: "subject",
    4: "author",
    5: "keywords",
    6: "comments",
    8: "last_saved_by",
    9: "revision",
    12: "created",
    13: "modified",
    18: "application",
    20: "date",  # Hangul's own: the creation date as the user sees it ("2014년 3월 3일 ...")
}
_VT_I2, _VT_I4, _VT_LPSTR, _VT_LPWSTR, _VT_FILETIME = 2, 3, 30, 31, 64
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FileHeader:
    version: str  # "5.0.1.7"
    flags: int

    @property
    def compressed(self) -> bool:
        return bool(self.flags & FLAG_COMPRESSED)

    @property
    def password(self) -> bool:
        return bool(self.flags & FLAG_PASSWORD)

    @property
    def distribution(self) -> bool:
        return bool(self.flags & FLAG_DISTRIBUTION)


def parse_file_header(data: bytes) -> FileHeader:
    if not data.startswith(SIGNATURE) or len(data) < 40:
        raise CorruptFileError("Not an HWP 5.0 document: the FileHeader signature is missing")
    version, flags = struct.unpack_from("<II", data, 32)
    # 0xMMnnPPrr: major, minor, build, revision
    parts = (version >> 24, (version >> 16) & 0xFF, (version >> 8) & 0xFF, version & 0xFF)
    return FileHeader(version=".".join(str(part) for part in parts), flags=flags)


class HwpOle:
    """An open HWP compound file (a context manager)."""

    def __init__(self, path: Path) -> None:
        try:
            self._ole = olefile.OleFileIO(str(path))
        except OLE_ERRORS as exc:
            raise CorruptFileError(f"Damaged HWP compound file: {short_reason(exc)}") from None

    def __enter__(self) -> HwpOle:
        return self

    def __exit__(self, *_: object) -> None:
        self._ole.close()

    def exists(self, name: str) -> bool:
        try:
            return bool(self._ole.exists(name))
        except OLE_ERRORS:
            return False

    def read(self, name: str) -> bytes:
        try:
            if self._ole.get_size(name) > MAX_STREAM_BYTES:
                raise CorruptFileError(f"HWP stream {name} is larger than {MAX_STREAM_BYTES // (1024 * 1024)} MiB")
            with self._ole.openstream(name) as stream:
                return bytes(stream.read())
        except CorruptFileError:
            raise
        except OLE_ERRORS as exc:
            raise CorruptFileError(f"HWP stream {name} cannot be read: {short_reason(exc)}") from None

    def file_header(self) -> FileHeader:
        if not self.exists("FileHeader"):
            raise CorruptFileError("Not an HWP 5.0 document: no FileHeader stream")
        return parse_file_header(self.read("FileHeader")[:FILE_HEADER_SIZE])

    def sections(self, storage: str) -> list[str]:
        """The Section streams of a storage (BodyText or ViewText), in number order."""
        numbered = []
        try:
            entries = self._ole.listdir(streams=True, storages=False)
        except OLE_ERRORS as exc:
            raise CorruptFileError(f"Damaged HWP compound file: {short_reason(exc)}") from None
        for entry in entries:
            if len(entry) == 2 and entry[0] == storage and (match := _SECTION.match(entry[1])):
                numbered.append((int(match.group(1)), f"{storage}/{entry[1]}"))
        return [name for _, name in sorted(numbered)]

    def summary(self) -> dict[str, str | None]:
        if not self.exists(SUMMARY_STREAM):
            return {}
        try:
            return parse_summary(self.read(SUMMARY_STREAM))
        except (CorruptFileError, struct.error, IndexError, ValueError, OverflowError):
            return {}  # the properties are a courtesy: a damaged set costs them, not the document


def parse_summary(data: bytes) -> dict[str, str | None]:
    """The first property set of a property-set stream (MS-OLEPS §2.21), the ids of _SUMMARY_NAMES."""
    (section_offset,) = struct.unpack_from("<I", data, 44)
    _, count = struct.unpack_from("<II", data, section_offset)
    found: dict[str, str | None] = {}
    for i in range(min(count, 256)):
        prop_id, offset = struct.unpack_from("<II", data, section_offset + 8 + 8 * i)
        name = _SUMMARY_NAMES.get(prop_id)
        if name is None:
            continue
        value = _property_value(data, section_offset + offset)
        if value is not None and value != "":
            found[name] = str(value)
    return found


def _property_value(data: bytes, at: int) -> Any:
    (vt,) = struct.unpack_from("<H", data, at)
    at += 4
    if vt == _VT_LPWSTR:
        (chars,) = struct.unpack_from("<I", data, at)
        raw = data[at + 4 : at + 4 + 2 * min(chars, 65_536)]
        return raw.decode("utf-16-le", "replace").split("\x00", 1)[0].strip()
    if vt == _VT_LPSTR:
        (size,) = struct.unpack_from("<I", data, at)
        return data[at + 4 : at + 4 + min(size, 65_536)].split(b"\x00", 1)[0].decode("cp949", "replace").strip()
    if vt == _VT_FILETIME:
        (ticks,) = struct.unpack_from("<Q", data, at)
        if ticks == 0:
            return None
        return (_FILETIME_EPOCH + timedelta(microseconds=ticks // 10)).isoformat(timespec="seconds")
    if vt == _VT_I4:
        return struct.unpack_from("<i", data, at)[0]
    if vt == _VT_I2:
        return struct.unpack_from("<h", data, at)[0]
    return None
