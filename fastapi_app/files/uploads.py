"""Upload bytes to a temp file: written, hashed and synced off the event loop, in as few trips to the
thread pool as possible. The request-parsing side (multipart) is fastapi_app/api/uploads.py."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class ReceivedUpload:
    temp_path: Path
    filename: str | None = None
    size: int = 0
    sha256: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    has_file: bool = False
    # A file of a batch that passed MAX_UPLOAD_SIZE: its bytes were discarded, the batch goes on.
    over_limit: bool = False


@dataclass(slots=True)
class ReceivedBatch:
    """A batch request's files (each in its own temp file), or its one ZIP, and the form fields."""

    files: list[ReceivedUpload] = field(default_factory=list)
    archive: ReceivedUpload | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def temp_paths(self) -> list[Path]:
        found = [upload.temp_path for upload in self.files]
        return found + ([self.archive.temp_path] if self.archive is not None else [])


class FileSink:
    """The temp file, written and hashed from a worker thread. Every method is one trip to the thread
    pool, so the file is opened by the first write and finish() writes, syncs and closes at once: a 1 MiB
    upload costs one or two trips instead of seven (open, each 256 KiB, the rest, fsync, close). The
    sha256 is computed there too: hashlib releases the GIL, so the hashing runs beside the event loop
    (on another core) instead of in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hasher = hashlib.sha256()
        self._fh: Any = None

    @property
    def is_open(self) -> bool:
        return self._fh is not None

    def write(self, chunks: list[bytes]) -> None:
        if self._fh is None:
            self._fh = self.path.open("wb")
        for chunk in chunks:
            self.hasher.update(chunk)
        self._fh.writelines(chunks)

    def finish(self, chunks: list[bytes]) -> None:
        self.write(chunks)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.close()

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            fh.close()
