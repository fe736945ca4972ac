from fastapi_app.models.document import (
    Document,
    DocumentStatus,
    ExtractionRecord,
    FileType,
    ProcessingAttempt,
    ProcessingStage,
    Report,
)
from fastapi_app.models.event import DocumentEvent
from fastapi_app.models.user import RefreshToken, User

__all__ = [
    "Document",
    "DocumentEvent",
    "DocumentStatus",
    "ExtractionRecord",
    "FileType",
    "ProcessingAttempt",
    "ProcessingStage",
    "RefreshToken",
    "Report",
    "User",
]
