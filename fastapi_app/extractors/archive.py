"""Zip archives (xlsx, xlsm, ods, and any zip-based format) opened with limits: the one way this
service reads an archive member.

A zip's central directory is written by whoever made the file, so it is used twice: its declared
sizes are checked up front (each member, their sum, each member's compression ratio), and every
read counts the bytes actually inflated against the same caps and against the declared size, so a
directory that lies is caught too. Python's own ``ZipExtFile`` stops at the declared size and then
reports a CRC mismatch, which would hide the lie behind "damaged file"; here each member is opened
with a copy of its entry whose size is the cap, so inflating runs to the stream's real end (or the
cap) and the true size is known.

Native readers (calamine) open the file themselves and trust the directory; :meth:`SafeZip.verify`
streams the members they will read, discarding the output, before they are handed the path.
"""

from __future__ import annotations

import copy
import io
import zipfile
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import ArchiveBombError, ArchiveLimits

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

READ_CHUNK = 256 * 1024
_UNBOUNDED = 1 << 62

# What a damaged archive raises while it is opened or read; callers report it as their own error.
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    KeyError,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted member
    ValueError,
)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


class MemberReader(io.RawIOBase):
    """A member's inflated bytes, counted: past the caps or the declared size it raises ArchiveBombError."""

    def __init__(self, stream: Any, info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
        super().__init__()
        self._stream = stream
        self._name = info.filename
        self._declared = info.file_size
        self._compressed = max(info.compress_size, 1)
        self._limits = limits
        self.inflated = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        wanted = READ_CHUNK if size is None or size < 0 else size
        data = self._stream.read(min(wanted, READ_CHUNK))
        self.inflated += len(data)
        self._check()
        return bytes(data)

    def readall(self) -> bytes:
        raise io.UnsupportedOperation("read members in chunks: a whole-member read is what a bomb needs")

    def drain(self) -> int:
        """Inflate to the end, keeping nothing; the member's true size."""
        while self.read(READ_CHUNK):
            pass
        return self.inflated

    def close(self) -> None:
        self._stream.close()
        super().close()

    def _check(self) -> None:
        limits = self._limits
        if self.inflated > self._declared:
            raise ArchiveBombError(
                f"Archive member '{self._name}' inflates past the {self._declared} bytes its directory declares"
            )
        if self.inflated > limits.max_member_bytes:
            raise ArchiveBombError(
                f"Archive member '{self._name}' inflates past {_mib(limits.max_member_bytes)} (limit per member)"
            )
        if self.inflated > limits.ratio_grace_bytes and self.inflated > limits.max_ratio * self._compressed:
            raise ArchiveBombError(
                f"Archive member '{self._name}' inflates more than {limits.max_ratio} times its compressed size"
            )


class SafeZip:
    """A zip file whose members are read only through :class:`MemberReader`.

    Opening it checks every member's declared size and ratio and the declared total, so an archive
    refused here never costs more than reading its central directory.
    """

    def __init__(self, path: Path | str, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.inflated_total = 0
        self._opened: set[str] = set()
        self._zip = zipfile.ZipFile(path)
        try:
            self._check_declared()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def names(self) -> set[str]:
        return set(self._zip.NameToInfo)

    def declared_size(self, name: str) -> int:
        return self._zip.getinfo(name).file_size

    def unread_names(self) -> set[str]:
        return self.names - self._opened

    def count_inflated(self, size: int) -> None:
        """Add a member's inflated size to the archive's total, refused past ``max_total_bytes``."""
        self.inflated_total += size
        if self.inflated_total > self.limits.max_total_bytes:
            raise ArchiveBombError(f"Archive inflates past {_mib(self.limits.max_total_bytes)} in total")

    def infos(self) -> list[zipfile.ZipInfo]:
        return [info for info in self._zip.infolist() if not info.is_dir()]

    def open(self, name: str) -> MemberReader:
        info = self._zip.getinfo(name)
        # A copy of the entry with no size limit of its own: ZipExtFile stops at file_size (and then
        # reports a CRC mismatch), and the point is to learn whether the real stream is longer than
        # the directory says. MemberReader stops it at the caps instead, one chunk at a time.
        probe = copy.copy(info)
        probe.file_size = _UNBOUNDED
        stream = self._zip.open(probe)
        self._opened.add(name)
        return MemberReader(stream, info, self.limits)

    def read(self, name: str, max_bytes: int) -> bytes:
        """At most ``max_bytes`` of a member: what sniffing needs, never the whole of a large part."""
        parts: list[bytes] = []
        left = max_bytes
        with self.open(name) as reader:
            while left > 0 and (chunk := reader.read(left)):
                parts.append(chunk)
                left -= len(chunk)
        return b"".join(parts)

    def read_small(self, name: str, max_bytes: int) -> bytes:
        """A member that must be whole to be used (workbook.xml, relationship parts), refused past ``max_bytes``."""
        parts: list[bytes] = []
        size = 0
        with self.open(name) as reader:
            while chunk := reader.read(READ_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ArchiveBombError(f"Archive member '{name}' is larger than {_mib(max_bytes)}")
                parts.append(chunk)
        return b"".join(parts)

    def verify(self, names: Iterable[str] | None = None) -> None:
        """Inflate the members (all by default) to their real end, so a lying directory cannot reach a
        reader that trusts it. Costs one inflate pass and a chunk of memory."""
        for name in sorted(self.names if names is None else names):
            if name.endswith("/"):
                continue
            with self.open(name) as reader:
                self.count_inflated(reader.drain())

    def _check_declared(self) -> None:
        limits = self.limits
        total = 0
        for info in self.infos():
            size = info.file_size
            total += size
            if size > limits.max_member_bytes:
                raise ArchiveBombError(
                    f"Archive member '{info.filename}' declares {_mib(size)}, "
                    f"above the limit of {_mib(limits.max_member_bytes)} per member"
                )
            if size > limits.ratio_grace_bytes and size > limits.max_ratio * max(info.compress_size, 1):
                raise ArchiveBombError(
                    f"Archive member '{info.filename}' declares {_mib(size)} from "
                    f"{info.compress_size} compressed bytes (more than {limits.max_ratio} times)"
                )
        if total > limits.max_total_bytes:
            raise ArchiveBombError(
                f"Archive declares {_mib(total)} in total, above the limit of {_mib(limits.max_total_bytes)}"
            )
