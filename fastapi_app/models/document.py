from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    cast,
    func,
    literal,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from fastapi_app.core.vocabulary import DocumentStatus, ProcessingStage
from fastapi_app.db.base import Base, TimestampMixin, new_id, utcnow

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def json_bytes(session: Session, data: bytes) -> ColumnElement[Any]:
    """UTF-8 JSON already serialised (pydantic's ``__pydantic_serializer__.to_json``), to assign to a
    JsonDocument column.

    The column's own bind needs the value as Python objects and serialises it again: for a large extraction
    (a 500,000-row CSV keeps 400,000 rows, ~50 MB of JSON) the dict tree, json.dumps' string and the driver's
    copy of it were alive at once, ~250 MB of a worker's peak. Here PostgreSQL gets the bytes as they are
    (a binary parameter, read as UTF-8 text and parsed into jsonb); SQLite stores the text."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.convert_from(literal(data, LargeBinary), "UTF8"), JSONB)
    return literal(data.decode(), Text)


class Document(TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_owner_created", "owner_id", "created_at"),
        Index("ix_documents_owner_sha256", "owner_id", "sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    original_filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    file_type: Mapped[str] = mapped_column(String(16), index=True)
    mime_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.PENDING, index=True)
    stage: Mapped[str] = mapped_column(String(16), default=ProcessingStage.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Fernet-encrypted with a key derived from SECRET_KEY; only the worker ever decrypts it.
    encrypted_password: Mapped[str | None] = mapped_column(Text)
    upload_warnings: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column()
    # Each upload or reprocess is a run; a task for an older run is stale and does nothing.
    current_run: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    task_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    processing_started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    processing_ms: Mapped[int | None] = mapped_column(Integer)
    # Webhook target for this upload's final events; overrides the owner's webhook_url.
    callback_url: Mapped[str | None] = mapped_column(Text)
    # The batch upload it came in with, if any; the batch row goes with its owner.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"), index=True)


class ProcessingAttempt(Base):
    __tablename__ = "processing_attempts"
    __table_args__ = (UniqueConstraint("document_id", "run", "attempt_number", name="uq_attempt_run_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    run: Mapped[int] = mapped_column(Integer)
    attempt_number: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ExtractionRecord(Base):
    __tablename__ = "extraction_results"
    __table_args__ = (UniqueConstraint("document_id", "run", name="uq_extraction_document_run"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    run: Mapped[int] = mapped_column(Integer)
    schema_version: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("document_id", "version", name="uq_report_document_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    # version == the run that produced it, so a redelivered task cannot add a second one.
    version: Mapped[int] = mapped_column(Integer)
    schema_version: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentPart(Base):
    """One page range of a fanned-out PDF run (PAGE_FANOUT_THRESHOLD): its extraction, stored once it is
    done so that a worker lost mid-document re-runs only the parts that were not finished."""

    __tablename__ = "document_parts"
    __table_args__ = (UniqueConstraint("document_id", "run", "first_page", name="uq_document_part_range"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    run: Mapped[int] = mapped_column(Integer)
    first_page: Mapped[int] = mapped_column(Integer)  # 1-based, inclusive
    last_page: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, running, done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Pages of this part finished by its furthest attempt: the document's progress sums them.
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)  # deliveries whose worker died during the part
    worker: Mapped[str | None] = mapped_column(String(255))  # Celery hostname and pid of the attempt that ran it
    span: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)  # extractors.pdf.PageSpan as JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
