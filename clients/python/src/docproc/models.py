"""Typed models of the Document Processing API, generated from its OpenAPI schema.

Do not edit: run `.venv/bin/python clients/python/scripts/generate_models.py` from the repository root.
"""

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "AdminDocumentOut",
    "AdminUserOut",
    "AdminUserUpdate",
    "ApiResponse_AdminDocumentOut_",
    "ApiResponse_AdminUserOut_",
    "ApiResponse_BatchCreatedOut_",
    "ApiResponse_BatchOut_",
    "ApiResponse_DocumentOut_",
    "ApiResponse_ExtractedDataOut_",
    "ApiResponse_NoneType_",
    "ApiResponse_OperationsOut_",
    "ApiResponse_PagesOut_",
    "ApiResponse_ReportOut_",
    "ApiResponse_SessionOut_",
    "ApiResponse_StatsSummary_",
    "ApiResponse_Timeseries_",
    "ApiResponse_UserOut_",
    "ApiResponse_WebhookSecretOut_",
    "ApiResponse_dict_str__Any__",
    "ApiResponse_list_EventOut__",
    "ApiResponse_list_ReportSummaryOut__",
    "ApiResponse_list_WebhookDeliveryOut__",
    "BatchCreatedOut",
    "BatchItemOut",
    "BatchOut",
    "BatchRejectionOut",
    "Body_login_api_v1_auth_login_post",
    "BrokerOut",
    "DocumentOut",
    "ErrorResponse",
    "EventOut",
    "ExtractedDataOut",
    "HTTPValidationError",
    "LinksOut",
    "OperationsOut",
    "PagedResponse_AdminDocumentOut_",
    "PagedResponse_AdminUserOut_",
    "PagedResponse_DocumentOut_",
    "PagesOut",
    "QueueDepth",
    "QuotaOut",
    "QuotaUsage",
    "RefreshRequest",
    "ReportOut",
    "ReportSummaryOut",
    "SessionOut",
    "StatsSummary",
    "StorageOut",
    "SummaryFilter",
    "SummaryRequest",
    "ThroughputHour",
    "Timeseries",
    "TimeseriesDay",
    "TokenResponse",
    "TotalsOut",
    "UploadWarning",
    "UserCreate",
    "UserOut",
    "UserUpdate",
    "ValidationError",
    "WebhookAttemptOut",
    "WebhookDeliveryOut",
    "WebhookSecretOut",
    "WorkerOut",
]


class UploadWarning(TypedDict):
    """UploadWarning."""

    code: str
    message: str


class AdminDocumentOut(TypedDict):
    """AdminDocumentOut."""

    id: str
    original_filename: str
    file_type: str
    mime_type: str
    size_bytes: int
    sha256: str
    status: str
    stage: str
    progress: int
    error_code: str | None
    error_message: str | None
    upload_warnings: NotRequired[list[UploadWarning]]
    duplicate_of_id: NotRequired[str | None]
    current_run: int
    attempts: int
    queued_at: str
    processing_started_at: str | None
    completed_at: str | None
    processing_ms: int | None
    created_at: str
    updated_at: str
    owner_id: str
    owner_username: str


class AdminUserOut(TypedDict):
    """AdminUserOut."""

    id: str
    username: str
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: str
    document_count: int
    storage_bytes: int
    documents_today: int
    quota_documents_per_day: int | None
    quota_storage_bytes: int | None
    documents_per_day_limit: int | None
    storage_bytes_limit: int | None


class AdminUserUpdate(TypedDict):
    """AdminUserUpdate."""

    is_active: NotRequired[bool | None]
    is_superuser: NotRequired[bool | None]
    quota_documents_per_day: NotRequired[int | None]
    quota_storage_bytes: NotRequired[int | None]


class ApiResponse_AdminDocumentOut_(TypedDict):
    """ApiResponse[AdminDocumentOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: AdminDocumentOut


class ApiResponse_AdminUserOut_(TypedDict):
    """ApiResponse[AdminUserOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: AdminUserOut


class DocumentOut(TypedDict):
    """DocumentOut."""

    id: str
    original_filename: str
    file_type: str
    mime_type: str
    size_bytes: int
    sha256: str
    status: str
    stage: str
    progress: int
    error_code: str | None
    error_message: str | None
    upload_warnings: NotRequired[list[UploadWarning]]
    duplicate_of_id: NotRequired[str | None]
    current_run: int
    attempts: int
    queued_at: str
    processing_started_at: str | None
    completed_at: str | None
    processing_ms: int | None
    created_at: str
    updated_at: str


class BatchItemOut(TypedDict):
    """BatchItemOut."""

    index: int
    filename: str
    status: Literal["accepted", "rejected"]
    document: NotRequired[DocumentOut | None]
    error_code: NotRequired[str | None]
    message: NotRequired[str | None]
    details: NotRequired[dict[str, Any] | None]


class BatchCreatedOut(TypedDict):
    """BatchCreatedOut."""

    batch_id: str
    source: Literal["files", "zip"]
    total: int
    accepted: int
    rejected: int
    items: list[BatchItemOut]


class ApiResponse_BatchCreatedOut_(TypedDict):
    """ApiResponse[BatchCreatedOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: BatchCreatedOut


class BatchRejectionOut(TypedDict):
    """BatchRejectionOut."""

    index: int
    filename: str
    status: NotRequired[Literal["rejected"]]
    error_code: str
    message: str
    details: NotRequired[dict[str, Any] | None]


class BatchOut(TypedDict):
    """BatchOut."""

    id: str
    source: Literal["files", "zip"]
    created_at: str
    completed_at: str | None
    total_files: int
    accepted: int
    rejected: int
    counts: dict[str, int]
    rejected_items: list[BatchRejectionOut]
    documents: list[DocumentOut]
    page: int
    page_size: int
    total_documents: int
    total_pages: int


class ApiResponse_BatchOut_(TypedDict):
    """ApiResponse[BatchOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: BatchOut


class ApiResponse_DocumentOut_(TypedDict):
    """ApiResponse[DocumentOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: DocumentOut


class ExtractedDataOut(TypedDict):
    """ExtractedDataOut."""

    document_id: str
    run: int
    schema_version: str
    created_at: str
    result: dict[str, Any]


class ApiResponse_ExtractedDataOut_(TypedDict):
    """ApiResponse[ExtractedDataOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: ExtractedDataOut


class ApiResponse_NoneType_(TypedDict):
    """ApiResponse[NoneType]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: None


class BrokerOut(TypedDict):
    """BrokerOut."""

    kind: str
    url_redacted: str
    reachable: bool


class LinksOut(TypedDict):
    """LinksOut."""

    flower: str | None
    metrics: NotRequired[str]


class QueueDepth(TypedDict):
    """QueueDepth."""

    name: str
    depth: int | None


class StorageOut(TypedDict):
    """StorageOut."""

    backend: str
    documents_bytes: int
    files: int
    report_bytes: NotRequired[int | None]
    disk_free_bytes: int | None
    disk_total_bytes: int | None


class ThroughputHour(TypedDict):
    """ThroughputHour."""

    hour: str
    completed: int
    failed: int


class TotalsOut(TypedDict):
    """TotalsOut."""

    users: int
    documents: int
    by_status: dict[str, int]


class WorkerOut(TypedDict):
    """WorkerOut."""

    name: str
    alive: NotRequired[bool]
    active: NotRequired[int | None]
    processed: NotRequired[int | None]
    concurrency: NotRequired[int | None]


class OperationsOut(TypedDict):
    """OperationsOut."""

    generated_at: str
    queues: list[QueueDepth]
    workers: list[WorkerOut]
    broker: BrokerOut
    throughput: list[ThroughputHour]
    failure_rate: float | None
    storage: StorageOut
    totals: TotalsOut
    links: LinksOut


class ApiResponse_OperationsOut_(TypedDict):
    """ApiResponse[OperationsOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: OperationsOut


class PagesOut(TypedDict):
    """PagesOut."""

    page_count: int
    previewable: bool


class ApiResponse_PagesOut_(TypedDict):
    """ApiResponse[PagesOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: PagesOut


class ReportOut(TypedDict):
    """ReportOut."""

    id: str
    document_id: str
    version: int
    schema_version: str
    title: str
    formats: list[str]
    created_at: str
    content: dict[str, Any]


class ApiResponse_ReportOut_(TypedDict):
    """ApiResponse[ReportOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: ReportOut


class QuotaUsage(TypedDict):
    """QuotaUsage."""

    used: int
    limit: int | None


class QuotaOut(TypedDict):
    """QuotaOut."""

    documents_today: QuotaUsage
    storage_bytes: QuotaUsage
    day_resets_in_seconds: int
    timezone: str


class UserOut(TypedDict):
    """UserOut."""

    id: str
    username: str
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    webhook_url: NotRequired[str | None]
    created_at: str
    updated_at: str
    quota: NotRequired[QuotaOut | None]


class SessionOut(TypedDict):
    """The web app's session: the access token (kept in memory by the page) and the user; the refresh token
    travels only in the httpOnly `docproc_refresh` cookie.
    """

    access_token: str
    token_type: NotRequired[str]
    expires_in: int
    user: UserOut


class ApiResponse_SessionOut_(TypedDict):
    """ApiResponse[SessionOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: SessionOut


class StatsSummary(TypedDict):
    """StatsSummary."""

    total_documents: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    total_size_bytes: int
    average_size_bytes: float | None
    processing_ms: dict[str, float | None]
    success_rate: float | None
    last_24h: dict[str, int]
    recent: list[DocumentOut]


class ApiResponse_StatsSummary_(TypedDict):
    """ApiResponse[StatsSummary]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: StatsSummary


class TimeseriesDay(TypedDict):
    """TimeseriesDay."""

    date: str
    total: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    processing_ms_avg: float | None
    processing_ms_p50: float | None


class Timeseries(TypedDict):
    """Timeseries."""

    tz: str
    days: list[TimeseriesDay]


class ApiResponse_Timeseries_(TypedDict):
    """ApiResponse[Timeseries]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: Timeseries


class ApiResponse_UserOut_(TypedDict):
    """ApiResponse[UserOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: UserOut


class WebhookSecretOut(TypedDict):
    """WebhookSecretOut."""

    secret: str
    signature_header: NotRequired[str]
    algorithm: NotRequired[str]


class ApiResponse_WebhookSecretOut_(TypedDict):
    """ApiResponse[WebhookSecretOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: WebhookSecretOut


class ApiResponse_dict_str__Any__(TypedDict):
    """ApiResponse[dict[str, Any]]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: dict[str, Any]


class EventOut(TypedDict):
    """One entry of a document's processing timeline (the same fields the WebSocket sends)."""

    type: str
    event_id: int
    document_id: str
    run: int
    status: str
    stage: str
    progress: int
    message: str
    error_code: NotRequired[str | None]
    timestamp: str
    current_page: NotRequired[int | None]
    total_pages: NotRequired[int | None]
    current_sheet: NotRequired[int | None]
    total_sheets: NotRequired[int | None]
    processing_ms: NotRequired[int | None]


class ApiResponse_list_EventOut__(TypedDict):
    """ApiResponse[list[EventOut]]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: list[EventOut]


class ReportSummaryOut(TypedDict):
    """ReportSummaryOut."""

    id: str
    document_id: str
    version: int
    schema_version: str
    title: str
    formats: list[str]
    created_at: str


class ApiResponse_list_ReportSummaryOut__(TypedDict):
    """ApiResponse[list[ReportSummaryOut]]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: list[ReportSummaryOut]


class WebhookAttemptOut(TypedDict):
    """WebhookAttemptOut."""

    attempt_number: int
    started_at: str
    duration_ms: int | None
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class WebhookDeliveryOut(TypedDict):
    """WebhookDeliveryOut."""

    id: str
    document_id: str
    run: int
    event_type: str
    url: str
    state: str
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]
    created_at: str
    completed_at: str | None
    attempts: list[WebhookAttemptOut]


class ApiResponse_list_WebhookDeliveryOut__(TypedDict):
    """ApiResponse[list[WebhookDeliveryOut]]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: list[WebhookDeliveryOut]


class Body_login_api_v1_auth_login_post(TypedDict):
    """Body_login_api_v1_auth_login_post."""

    grant_type: NotRequired[str | None]
    username: str
    password: str
    scope: NotRequired[str]
    client_id: NotRequired[str | None]
    client_secret: NotRequired[str | None]


class ErrorResponse(TypedDict):
    """ErrorResponse."""

    success: NotRequired[bool]
    message: str
    error_code: str
    details: NotRequired[dict[str, Any] | None]


class ValidationError(TypedDict):
    """ValidationError."""

    loc: list[str | int]
    msg: str
    type: str
    input: NotRequired[Any]
    ctx: NotRequired[dict[str, Any]]


class HTTPValidationError(TypedDict):
    """HTTPValidationError."""

    detail: NotRequired[list[ValidationError]]


class PagedResponse_AdminDocumentOut_(TypedDict):
    """PagedResponse[AdminDocumentOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: list[AdminDocumentOut]
    total: int
    page: int
    page_size: int
    total_pages: int


class PagedResponse_AdminUserOut_(TypedDict):
    """PagedResponse[AdminUserOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: list[AdminUserOut]
    total: int
    page: int
    page_size: int
    total_pages: int


class PagedResponse_DocumentOut_(TypedDict):
    """PagedResponse[DocumentOut]."""

    success: NotRequired[bool]
    message: NotRequired[str]
    data: list[DocumentOut]
    total: int
    page: int
    page_size: int
    total_pages: int


class RefreshRequest(TypedDict):
    """RefreshRequest."""

    refresh_token: str


class SummaryFilter(TypedDict):
    """SummaryFilter."""

    file_type: NotRequired[Literal["excel", "pdf", "image", "hwp"] | None]
    status: NotRequired[Literal["pending", "processing", "completed", "failed"] | None]
    date_from: NotRequired[str | None]
    date_to: NotRequired[str | None]


class SummaryRequest(TypedDict):
    """SummaryRequest."""

    document_ids: NotRequired[list[str] | None]
    filter: NotRequired[SummaryFilter]
    title: NotRequired[str | None]


class TokenResponse(TypedDict):
    """TokenResponse."""

    access_token: str
    refresh_token: str
    token_type: NotRequired[str]
    expires_in: int


class UserCreate(TypedDict):
    """UserCreate."""

    username: str
    email: str
    password: str
    full_name: NotRequired[str | None]


class UserUpdate(TypedDict):
    """UserUpdate."""

    email: NotRequired[str | None]
    full_name: NotRequired[str | None]
    current_password: NotRequired[str | None]
    new_password: NotRequired[str | None]
    webhook_url: NotRequired[str | None]
