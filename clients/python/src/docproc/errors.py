"""Typed exceptions for the API's error envelope: `{"success": false, "message", "error_code", "details"}`."""

from __future__ import annotations

from typing import Any

import httpx


class DocprocError(Exception):
    """Any error answer of the API (or a transport failure, with status_code None). `error_code` is the
    server's stable UPPER_SNAKE code (the README's error table): branch on it, not on the message."""

    def __init__(
        self,
        message: str,
        *,
        error_code: str = "CLIENT_ERROR",
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status_code = status_code
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}"


class AuthenticationError(DocprocError):
    """401: no token, a bad, expired or revoked one, or wrong credentials: log in again."""


class PermissionDeniedError(DocprocError):
    """403: the account is disabled or the action is not allowed."""


class NotFoundError(DocprocError):
    """404: not there, or not yours."""


class ConflictError(DocprocError):
    """409: e.g. DOCUMENT_NOT_READY, DOCUMENT_BUSY, IDEMPOTENCY_KEY_REUSED."""


class FileRejectedError(DocprocError):
    """400/413/415/422 on an upload: the server refused the file (EMPTY_FILE, FILE_TOO_LARGE, ...)."""


class ValidationError(DocprocError):
    """400 or 422 outside uploads: a parameter the server did not accept."""


class QuotaExceededError(DocprocError):
    """The account's daily documents or storage quota is used up (never retried: it resets at midnight)."""


class RateLimitedError(DocprocError):
    """429 RATE_LIMITED still answered after the bounded retries; `retry_after` says when to try again."""


class ServerError(DocprocError):
    """5xx: SERVICE_UNAVAILABLE after the bounded retries, or INTERNAL_ERROR."""


class TransportError(DocprocError):
    """The server could not be reached (connection refused, timeout) after the bounded retries."""


class ProcessingTimeoutError(DocprocError):
    """`wait()` gave up before the document reached completed or failed."""


_QUOTA_CODES = {"DAILY_DOCUMENT_QUOTA_EXCEEDED", "STORAGE_QUOTA_EXCEEDED"}
_UPLOAD_REFUSALS = {400, 413, 415, 422}


def parse_retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (our server sends seconds; an HTTP date is honoured too)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_from_response(response: httpx.Response, *, upload: bool = False) -> DocprocError:
    body = error_body(response)
    status = response.status_code
    code = body.get("error_code") or f"HTTP_{status}"
    message = body.get("message") or response.reason_phrase or f"HTTP {status}"
    details = body.get("details") if isinstance(body.get("details"), dict) else None
    cls: type[DocprocError]
    if code in _QUOTA_CODES:
        cls = QuotaExceededError
    elif status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = NotFoundError
    elif status == 409:
        cls = ConflictError
    elif status == 429:
        cls = RateLimitedError
    elif status >= 500:
        cls = ServerError
    elif upload and status in _UPLOAD_REFUSALS:
        cls = FileRejectedError
    elif status in (400, 422):
        cls = ValidationError
    else:
        cls = DocprocError
    return cls(message, error_code=code, status_code=status, details=details, retry_after=parse_retry_after(response))
