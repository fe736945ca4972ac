"""The GraphQL object types: the same fields, in camelCase, as REST's response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from fastapi_app.models import Document, DocumentEvent, ExtractionRecord, Report, User, WebhookAttempt, WebhookDelivery
from fastapi_app.realtime.events import event_message
from fastapi_app.reports.renderers.registry import FORMATS
from fastapi_app.schemas.document import DOCUMENT_OUT_FIELDS


@strawberry.type(description="The current account (REST: GET /api/users/me)")
class UserType:
    id: strawberry.ID
    username: str
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    webhook_url: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserType:
        return cls(
            id=strawberry.ID(str(user.id)),
            username=user.username,
            email=user.email,
            full_name=user.full_name,
            is_active=user.is_active,
            is_superuser=user.is_superuser,
            webhook_url=user.webhook_url,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


@strawberry.type
class UploadWarningType:
    code: str
    message: str


@strawberry.type(description="A processing event (REST: GET /api/documents/{id}/events; the /ws messages)")
class DocumentEventType:
    type: str
    event_id: int
    document_id: strawberry.ID
    run: int
    status: str
    stage: str
    progress: int
    message: str
    error_code: str | None
    timestamp: datetime
    details: JSON | None = strawberry.field(
        description="Progress details of the event (current_page, total_pages, processing_ms, ...)"
    )

    @classmethod
    def of_message(cls, message: dict[str, Any]) -> DocumentEventType:
        base = {"type", "event_id", "document_id", "run", "status", "stage", "progress", "message", "error_code"}
        return cls(
            type=str(message["type"]),
            event_id=int(message["event_id"]),
            document_id=strawberry.ID(str(message["document_id"])),
            run=int(message["run"]),
            status=str(message["status"]),
            stage=str(message["stage"]),
            progress=int(message["progress"]),
            message=str(message["message"]),
            error_code=message.get("error_code"),
            timestamp=datetime.fromisoformat(str(message["timestamp"])),
            details={k: v for k, v in message.items() if k not in base and k != "timestamp"} or None,
        )

    @classmethod
    def of(cls, event: DocumentEvent) -> DocumentEventType:
        return cls.of_message(event_message(event))


@strawberry.type(description="The latest extraction result (REST: GET /api/documents/{id}/extracted-data)")
class ExtractionType:
    document_id: strawberry.ID
    run: int
    schema_version: str
    created_at: datetime
    result: JSON

    @classmethod
    def of(cls, record: ExtractionRecord) -> ExtractionType:
        return cls(
            document_id=strawberry.ID(str(record.document_id)),
            run=record.run,
            schema_version=record.schema_version,
            created_at=record.created_at,
            result=record.data,
        )


@strawberry.type(description="A report version (REST: GET /api/documents/{id}/reports[/{report_id}])")
class ReportType:
    id: strawberry.ID
    document_id: strawberry.ID
    version: int
    schema_version: str
    title: str
    formats: list[str]
    created_at: datetime
    content: JSON

    @classmethod
    def of(cls, report: Report) -> ReportType:
        return cls(
            id=strawberry.ID(str(report.id)),
            document_id=strawberry.ID(str(report.document_id)),
            version=report.version,
            schema_version=report.schema_version,
            title=report.title,
            formats=list(FORMATS),
            created_at=report.created_at,
            content=report.content,
        )


@strawberry.type
class WebhookAttemptType:
    attempt_number: int
    started_at: datetime
    duration_ms: int | None
    status_code: int | None
    error: str | None
    response_excerpt: str | None

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> WebhookAttemptType:
        return cls(
            attempt_number=attempt.attempt_number,
            started_at=attempt.started_at,
            duration_ms=attempt.duration_ms,
            status_code=attempt.status_code,
            error=attempt.error,
            response_excerpt=attempt.response_excerpt,
        )


@strawberry.type(description="A webhook delivery and its attempts (REST: GET /api/documents/{id}/webhooks)")
class WebhookDeliveryType:
    id: strawberry.ID
    document_id: strawberry.ID
    run: int
    event_type: str
    url: str
    state: str
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    payload: JSON
    created_at: datetime
    completed_at: datetime | None
    attempts: list[WebhookAttemptType]

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> WebhookDeliveryType:
        return cls(
            id=strawberry.ID(str(delivery.id)),
            document_id=strawberry.ID(str(delivery.document_id)),
            run=delivery.run,
            event_type=delivery.event_type,
            url=delivery.url,
            state=delivery.state,
            attempt_count=delivery.attempt_count,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            payload=delivery.payload,
            created_at=delivery.created_at,
            completed_at=delivery.completed_at,
            attempts=[WebhookAttemptType.of(a) for a in delivery.attempts],
        )


def document_values(row: Any) -> dict[str, Any]:
    """DocumentOut's fields of a hot read's row (PUBLIC_COLUMNS order) or of an ORM Document."""
    if isinstance(row, Document):
        return {name: getattr(row, name) for name in DOCUMENT_OUT_FIELDS}
    return dict(zip(DOCUMENT_OUT_FIELDS, row, strict=False))


def document_id_of(values: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(str(values["id"]))
