"""Python client for the Document Processing API: `Client`, `AsyncClient`, typed errors and models."""

from docproc._common import REPORT_FORMATS, RetryPolicy
from docproc.async_client import AsyncClient
from docproc.client import Client
from docproc.errors import (
    AuthenticationError,
    ConflictError,
    DocprocError,
    FileRejectedError,
    NotFoundError,
    PermissionDeniedError,
    ProcessingTimeoutError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "REPORT_FORMATS",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "DocprocError",
    "FileRejectedError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProcessingTimeoutError",
    "QuotaExceededError",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
    "__version__",
]
