from fastapi_app.models.batch import Batch
from fastapi_app.models.document import (
    Document,
    DocumentPart,
    DocumentStatus,
    ExtractionRecord,
    ProcessingAttempt,
    ProcessingStage,
    Report,
    json_bytes,
)
from fastapi_app.models.event import DocumentEvent
from fastapi_app.models.user import RefreshToken, User
from fastapi_app.models.webhook import DeliveryState, WebhookAttempt, WebhookDelivery

__all__ = [
    "Batch",
    "DeliveryState",
    "Document",
    "DocumentEvent",
    "DocumentPart",
    "DocumentStatus",
    "ExtractionRecord",
    "ProcessingAttempt",
    "ProcessingStage",
    "RefreshToken",
    "Report",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "json_bytes",
]
