"""One base error class; every error a client can see is one of these, rendered by one handler.

The `error_code` values are a public contract (listed in the README): never rename one.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    error_code = "BAD_REQUEST"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        error_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.details = details
        self.headers = headers
        if error_code:
            self.error_code = error_code
        super().__init__(self.message)


class ValidationFailed(AppError):
    status_code = 422
    error_code = "VALIDATION_ERROR"
    message = "The request is not valid."


class BadRequest(AppError):
    status_code = 400
    error_code = "BAD_REQUEST"


class NotAuthenticated(AppError):
    status_code = 401
    error_code = "NOT_AUTHENTICATED"
    message = "Authentication required: send 'Authorization: Bearer <access token>'."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class InvalidToken(NotAuthenticated):
    error_code = "INVALID_TOKEN"
    message = "The token is invalid."


class TokenExpired(NotAuthenticated):
    error_code = "TOKEN_EXPIRED"
    message = "The token has expired; refresh it or log in again."


class TokenRevoked(NotAuthenticated):
    error_code = "TOKEN_REVOKED"
    message = "This session has ended (password changed, logged out everywhere or account disabled); log in again."


class InvalidCredentials(NotAuthenticated):
    error_code = "INVALID_CREDENTIALS"
    message = "Incorrect username or password."


class InactiveUser(AppError):
    status_code = 403
    error_code = "INACTIVE_USER"
    message = "This account is disabled."


class PermissionDenied(AppError):
    status_code = 403
    error_code = "PERMISSION_DENIED"
    message = "You are not allowed to do this."


class SuperuserRequired(AppError):
    status_code = 403
    error_code = "SUPERUSER_REQUIRED"
    message = "This needs a superuser account."


class CsrfFailed(AppError):
    status_code = 403
    error_code = "CSRF_FAILED"
    message = "The X-CSRF-Token header is missing or does not match the docproc_csrf cookie."


class CannotChangeOwnAccount(BadRequest):
    error_code = "CANNOT_CHANGE_OWN_ACCOUNT"
    message = "A superuser cannot deactivate or demote their own account; ask another superuser."


class NotFound(AppError):
    status_code = 404
    error_code = "NOT_FOUND"
    message = "The requested resource was not found."


class DocumentNotFound(NotFound):
    error_code = "DOCUMENT_NOT_FOUND"
    message = "Document not found."


class UserNotFound(NotFound):
    error_code = "USER_NOT_FOUND"
    message = "User not found."


class ReportNotFound(NotFound):
    error_code = "REPORT_NOT_FOUND"
    message = "Report not found."


class PreviewUnavailable(NotFound):
    error_code = "PREVIEW_UNAVAILABLE"
    message = "This document has no page preview (only PDFs and images have one)."


class PageNotFound(NotFound):
    error_code = "PAGE_NOT_FOUND"
    message = "The document has no such page."


class Conflict(AppError):
    status_code = 409
    error_code = "CONFLICT"


class UsernameTaken(Conflict):
    error_code = "USERNAME_TAKEN"
    message = "This username is already registered."


class EmailTaken(Conflict):
    error_code = "EMAIL_TAKEN"
    message = "This email address is already registered."


class DocumentNotReady(Conflict):
    error_code = "DOCUMENT_NOT_READY"
    message = "The document has not finished processing."


class DocumentBusy(Conflict):
    error_code = "DOCUMENT_BUSY"
    message = "The document is being processed; wait until it completes or fails."


class WrongPassword(AppError):
    status_code = 400
    error_code = "INCORRECT_PASSWORD"
    message = "The current password is not correct."


class FileTooLarge(AppError):
    status_code = 413
    error_code = "FILE_TOO_LARGE"
    message = "The file is larger than the upload limit."


class TooManyParts(AppError):
    status_code = 413
    error_code = "TOO_MANY_PARTS"
    message = "The upload form has more parts than allowed."


class EmptyFile(AppError):
    status_code = 400
    error_code = "EMPTY_FILE"
    message = "The file is empty."


class StorageQuotaExceeded(AppError):
    status_code = 413
    error_code = "STORAGE_QUOTA_EXCEEDED"
    message = "This file would take the account past its storage quota; delete documents to free space."


class UnsupportedFileType(AppError):
    status_code = 415
    error_code = "UNSUPPORTED_FILE_TYPE"
    message = "This kind of file is not supported. Upload a PDF, an Excel workbook (xlsx, xls, csv) or an image."


class FileTypeMismatch(AppError):
    status_code = 415
    error_code = "FILE_TYPE_MISMATCH"
    message = "The file's content does not match its declared type."


class ArchiveBomb(AppError):
    status_code = 413
    error_code = "ARCHIVE_BOMB"
    message = "The archive inflates past the service's limits (a decompression bomb, or a member too large)."


class NestedArchive(AppError):
    status_code = 415
    error_code = "NESTED_ARCHIVE"
    message = "An archive inside the batch archive is not unpacked; upload its files directly."


class UnsafeArchiveEntry(AppError):
    status_code = 422
    error_code = "UNSAFE_ARCHIVE_ENTRY"
    message = "The archive entry is a link, encrypted or unreadable, so it was not unpacked."


class BatchTooManyFiles(AppError):
    status_code = 413
    error_code = "BATCH_TOO_MANY_FILES"
    message = "The batch has more files than allowed."


class BatchRejected(AppError):
    status_code = 422
    error_code = "BATCH_REJECTED"
    message = "No file of the batch was accepted; see details.items for each file's reason."


class BatchNotFound(NotFound):
    error_code = "BATCH_NOT_FOUND"
    message = "Batch not found."


class InvalidIdempotencyKey(BadRequest):
    error_code = "INVALID_IDEMPOTENCY_KEY"
    message = "The Idempotency-Key header must be 1 to 255 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'."


class IdempotencyKeyReused(Conflict):
    error_code = "IDEMPOTENCY_KEY_REUSED"
    message = "This Idempotency-Key was used with a different request; use a new key for a new request."


class IdempotencyRequestInProgress(Conflict):
    error_code = "IDEMPOTENCY_REQUEST_IN_PROGRESS"
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


class UnsupportedReportFormat(BadRequest):
    error_code = "UNSUPPORTED_REPORT_FORMAT"
    message = "Unknown report format."


class SummaryTooLarge(BadRequest):
    error_code = "SUMMARY_TOO_LARGE"
    message = "Too many documents for one summary; narrow the filter."


class InvalidCallbackUrl(BadRequest):
    error_code = "INVALID_CALLBACK_URL"
    message = "The webhook URL is not allowed."


class GraphQLRefused(BadRequest):
    """A GraphQL operation refused before it ran (fastapi_app/api/graphql): invalid, or over a limit."""

    error_code = "GRAPHQL_VALIDATION_FAILED"
    message = "The GraphQL operation is not valid against the schema."


class GraphQLQueryTooDeep(GraphQLRefused):
    error_code = "GRAPHQL_QUERY_TOO_DEEP"
    message = "The GraphQL operation nests deeper than GRAPHQL_MAX_DEPTH."


class GraphQLTooManyAliases(GraphQLRefused):
    error_code = "GRAPHQL_TOO_MANY_ALIASES"
    message = "The GraphQL operation has more aliases than GRAPHQL_MAX_ALIASES."


class GraphQLTooManyTokens(GraphQLRefused):
    error_code = "GRAPHQL_TOO_MANY_TOKENS"
    message = "The GraphQL document has more tokens than GRAPHQL_MAX_TOKENS."


class GraphQLIntrospectionDisabled(GraphQLRefused):
    error_code = "GRAPHQL_INTROSPECTION_DISABLED"
    message = "GraphQL introspection is disabled on this server (GRAPHQL_INTROSPECTION)."


class GraphQLBatchNotAllowed(GraphQLRefused):
    error_code = "GRAPHQL_BATCH_NOT_ALLOWED"
    message = "Batched GraphQL requests (a JSON array of operations) are not accepted; send one operation per request."


class RateLimited(AppError):
    status_code = 429
    error_code = "RATE_LIMITED"
    message = "Too many requests; retry later."


class DailyDocumentQuotaExceeded(AppError):
    status_code = 429
    error_code = "DAILY_DOCUMENT_QUOTA_EXCEEDED"
    message = "The account has uploaded as many documents today as its daily quota allows."


class ServiceUnavailable(AppError):
    status_code = 503
    error_code = "SERVICE_UNAVAILABLE"
    message = "A backing service is unavailable; retry shortly."


class InternalError(AppError):
    status_code = 500
    error_code = "INTERNAL_ERROR"
    message = "An unexpected error occurred. It has been logged."


# Codes that come from Starlette/FastAPI's own HTTP errors, by status.
HTTP_STATUS_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "FILE_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
