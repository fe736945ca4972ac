from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fastapi_app.db.base import Base, utcnow
from fastapi_app.models.document import JsonDocument


class DocumentEvent(Base):
    """Every processing event, stored: the document's timeline, and the source the WebSocket
    replays from when Redis was unreachable (or absent, with the embedded broker)."""

    __tablename__ = "document_events"
    __table_args__ = (
        Index("ix_document_events_document_id_id", "document_id", "id"),
        Index("ix_document_events_owner_id_id", "owner_id", "id"),
    )

    # BigInteger with SQLite's rowid alias: ids grow with insertion order on both backends.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column()
    run: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    error_code: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
