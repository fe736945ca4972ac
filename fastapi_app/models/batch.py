"""A batch upload: many files in one request (or one ZIP), each becoming an ordinary document."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fastapi_app.db.base import Base, new_id, utcnow
from fastapi_app.models.document import JsonDocument


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_owner_created", "owner_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "files" (repeated multipart parts) or "zip" (one archive unpacked)
    source: Mapped[str] = mapped_column(String(8))
    total_files: Mapped[int] = mapped_column(Integer)
    accepted_count: Mapped[int] = mapped_column(Integer)
    rejected_count: Mapped[int] = mapped_column(Integer)
    # The refused files as answered at upload (filename, error_code, message): they have no document row.
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    # Set once, by whichever worker sees the last document reach a final status: batch.completed is sent once.
    completed_at: Mapped[datetime | None]
