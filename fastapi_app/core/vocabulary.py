"""The words of the domain, written once: file families, document statuses, processing stages and
event types. The values are the ones stored in the database and sent in JSON; the Literal aliases
below are derived from the enums for the places that need a Literal (query parameters and request
bodies, whose OpenAPI schema lists the values inline)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class FileFamily(StrEnum):
    """What kind of file a document is; decides the extractor."""

    EXCEL = "excel"
    PDF = "pdf"
    IMAGE = "image"
    HWP = "hwp"  # Hangul word processor: HWP 5.0 and HWPX


class DocumentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class ProcessingStage(StrEnum):
    QUEUED = "queued"
    READING = "reading"
    EXTRACTING = "extracting"
    OCR = "ocr"
    ANALYZING = "analyzing"
    REPORTING = "reporting"
    DONE = "done"


class EventType(StrEnum):
    """A document event's `type` (timeline, WebSocket, Redis and webhooks alike)."""

    PROCESSING = "document_processing"
    COMPLETED = "document_completed"
    FAILED = "document_failed"


# The events that end a run: they are the ones sent as webhooks.
FINAL_EVENT_TYPES = frozenset({EventType.COMPLETED, EventType.FAILED})

# Built from the enums (a type checker reads them as plain str; pydantic and the OpenAPI schema see
# exactly the enum's values, inline, as a hand-written Literal would give).
FileFamilyName = Literal[tuple(member.value for member in FileFamily)]  # type: ignore[valid-type]
DocumentStatusName = Literal[tuple(member.value for member in DocumentStatus)]  # type: ignore[valid-type]
