"""What the sync and async clients share: paths, retry decisions, upload parts, progress counting."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from docproc.errors import error_body, parse_retry_after

API = "/api/v1"
REPORT_FORMATS = ("json", "md", "html", "xlsx", "pdf")
TERMINAL_STATUSES = ("completed", "failed")
# Codes after which a refresh (or a new login) is worth one try; TOKEN_REVOKED means the sessions ended.
REFRESHABLE_CODES = {"INVALID_TOKEN", "TOKEN_EXPIRED", "NOT_AUTHENTICATED"}

ProgressCallback = Callable[[int, int], None]
"""Called as bytes of an upload are read for sending: (bytes_sent, total_bytes)."""
TokensCallback = Callable[[str, str | None], None]
"""Called with (access_token, refresh_token) after every login and refresh (refresh tokens rotate)."""
EventCallback = Callable[[dict[str, Any]], None]
"""Called with each WebSocket event (or polled document state) of a document being waited for."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """429 RATE_LIMITED, 503 and 409 IDEMPOTENCY_REQUEST_IN_PROGRESS are retried honouring Retry-After,
    at most `max_retries` times, and only when the wait is at most `max_wait` seconds: a quota's
    Retry-After (the next midnight) is an error at once, never a sleep."""

    max_retries: int = 3
    max_wait: float = 60.0
    backoff: float = 0.5

    def delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying `response`, or None when it must not be retried."""
        if attempt >= self.max_retries:
            return None
        status = response.status_code
        code = error_body(response).get("error_code") if status in (409, 429, 503) else None
        if status == 429 and code not in (None, "RATE_LIMITED"):
            return None
        if status == 409 and code != "IDEMPOTENCY_REQUEST_IN_PROGRESS":
            return None
        if status not in (409, 429, 503):
            return None
        retry_after = parse_retry_after(response)
        delay = retry_after if retry_after is not None else self.backoff * 2**attempt
        return delay if delay <= self.max_wait else None

    def transport_delay(self, attempt: int) -> float | None:
        return self.backoff * 2**attempt if attempt < self.max_retries else None


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def ws_url(base_url: httpx.URL, token: str) -> str:
    scheme = "wss" if base_url.scheme == "https" else "ws"
    path = base_url.path.rstrip("/") + f"{API}/ws"
    return str(base_url.copy_with(scheme=scheme, path=path, params={"token": token}))


class ProgressReader:
    """A file object that counts what httpx reads of it while streaming the multipart body. A retry
    rewinds it (httpx seeks to 0 before sending a file part), which starts the count again."""

    def __init__(self, raw: IO[bytes], total: int, callback: ProgressCallback | None) -> None:
        self._raw = raw
        self.total = total
        self.sent = 0
        self._callback = callback

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.sent += len(data)
        if self._callback is not None:
            self._callback(self.sent, self.total)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._raw.seek(offset, whence)
        self.sent = position
        return position

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        self._raw.close()


@dataclass(slots=True)
class UploadSource:
    """One file to upload: a path (opened per attempt, streamed) or bytes in memory."""

    filename: str
    path: Path | None = None
    content: bytes | None = None

    @classmethod
    def of(cls, file: str | os.PathLike[str] | bytes, filename: str | None) -> UploadSource:
        if isinstance(file, bytes):
            if not filename:
                raise ValueError("filename is required when uploading bytes")
            return cls(filename=filename, content=file)
        path = Path(file)
        return cls(filename=filename or path.name, path=path)

    def open(self, callback: ProgressCallback | None) -> ProgressReader:
        if self.content is not None:
            return ProgressReader(io.BytesIO(self.content), len(self.content), callback)
        assert self.path is not None
        raw = self.path.open("rb")
        return ProgressReader(raw, os.fstat(raw.fileno()).st_size, callback)


def upload_form(file_type: str | None, password: str | None, callback_url: str | None) -> dict[str, str]:
    fields = {"file_type": file_type, "password": password, "callback_url": callback_url}
    return {key: value for key, value in fields.items() if value is not None}


def check_format(format: str) -> str:
    if format not in REPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(REPORT_FORMATS)}, not {format!r}")
    return format


def summary_body(
    document_ids: list[str] | None,
    file_type: str | None,
    status: str | None,
    date_from: str | None,
    date_to: str | None,
    title: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if document_ids is not None:
        body["document_ids"] = [str(i) for i in document_ids]
    filters = {"file_type": file_type, "status": status, "date_from": date_from, "date_to": date_to}
    filters = {key: value for key, value in filters.items() if value is not None}
    if filters:
        body["filter"] = filters
    if title is not None:
        body["title"] = title
    return body


def list_params(**params: Any) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


def filename_from(response: httpx.Response, fallback: str) -> str:
    """The RFC 5987 `filename*` of Content-Disposition (exact UTF-8, Korean included), else `filename`."""
    from urllib.parse import unquote

    header = response.headers.get("Content-Disposition", "")
    plain = None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename*" and value.lower().startswith("utf-8''"):
            return unquote(value[7:])
        if key.lower() == "filename":
            plain = value.strip('"')
    return plain or fallback
