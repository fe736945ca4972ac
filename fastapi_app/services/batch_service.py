"""Batch uploads: many files in one request (or one ZIP), each through the single upload's own rules
(document_service.prepare_document), all the accepted rows in one transaction, their tasks enqueued
once it has committed. A file that breaks a rule is answered with the single upload's error code and
the rest go on.

Progress: when a worker changes the status of a batch's document it publishes `batch.progress` (the
batch's counts) on the owner's events channel, and `batch.completed` once, when the last one is final.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from fastapi_app.core.config import Settings
from fastapi_app.core.errors import AppError, BatchNotFound, BatchRejected, NestedArchive, UnsupportedFileType
from fastapi_app.core.metrics import record_upload
from fastapi_app.db import direct
from fastapi_app.extractors.base import ArchiveLimits
from fastapi_app.files.batch_archive import ARCHIVE_MIME_TYPES, ArchiveEntry, unpack_batch_archive
from fastapi_app.files.filetypes import archive_limits, sanitize_filename
from fastapi_app.files.storage import get_storage
from fastapi_app.files.uploads import ReceivedBatch, ReceivedUpload
from fastapi_app.models import Batch, Document, DocumentStatus, User
from fastapi_app.realtime.publisher import broadcast
from fastapi_app.services import document_service, report_service
from fastapi_app.services.document_service import Checkpoint, PreparedDocument

logger = logging.getLogger("fastapi_app.batches")

# Fills the batch from the request body, creating its temp files with the given factory (api/uploads.py).
ReceiveBatch = Callable[[ReceivedBatch, Callable[[], Path]], Awaitable[ReceivedBatch]]
# Form fields that apply to every file of a batch; per-file fields (file_type, password) have no place.
BATCH_FIELDS = ("callback_url",)
FINAL_STATUSES = (DocumentStatus.COMPLETED, DocumentStatus.FAILED)
MAX_BATCH_PAGE_SIZE = 200


@dataclass(slots=True)
class BatchItem:
    """One file of the batch, in the order it came: its document, or why it was refused."""

    index: int
    filename: str
    prepared: PreparedDocument | None = None
    error: AppError | None = None


@dataclass(slots=True)
class CreatedBatch:
    batch_id: uuid.UUID
    source: str
    items: list[BatchItem] = field(default_factory=list)

    @property
    def accepted(self) -> list[BatchItem]:
        return [item for item in self.items if item.prepared is not None]


def rejection(item: BatchItem) -> dict[str, Any]:
    assert item.error is not None
    found: dict[str, Any] = {
        "index": item.index,
        "filename": item.filename,
        "status": "rejected",
        "error_code": item.error.error_code,
        "message": item.error.message,
    }
    if item.error.details:
        found["details"] = item.error.details
    return found


async def create(
    receive: ReceiveBatch, owner_id: uuid.UUID, settings: Settings, *, checkpoint: Checkpoint | None = None
) -> CreatedBatch:
    """Receive the batch, check and store each file, then write the batch and its documents in one
    transaction; the tasks are enqueued after the commit. Raises BatchRejected (422) when no file
    passed: no batch row is written then."""
    storage = get_storage()
    received = ReceivedBatch()
    entries: list[ArchiveEntry] = []
    stored: list[str] = []
    committed = False
    batch_id = uuid.uuid4()
    try:
        await receive(received, storage.new_temp_path)
        if checkpoint is not None:
            uploads = [received.archive] if received.archive is not None else received.files
            await checkpoint(uploads, received.fields)
        fields = {name: received.fields[name] for name in BATCH_FIELDS if name in received.fields}
        if received.archive is not None:
            source = "zip"
            limits = _batch_archive_limits(settings)
            await anyio.to_thread.run_sync(
                lambda: unpack_batch_archive(
                    received.archive.temp_path,  # type: ignore[union-attr]
                    limits,
                    storage.new_temp_path,
                    max_files=settings.BATCH_MAX_FILES,
                    max_file_size=settings.MAX_UPLOAD_SIZE,
                    entries=entries,
                )
            )
            candidates = [(entry.upload, entry.error) for entry in entries]
        else:
            source = "files"
            candidates = [(upload, None) for upload in received.files]
        created = CreatedBatch(batch_id, source)
        for index, (upload, refused) in enumerate(candidates):
            item = BatchItem(index, sanitize_filename(upload.filename), error=refused)
            created.items.append(item)
            if refused is None:
                item.prepared, item.error = await _prepare(upload, fields, owner_id, settings, stored, batch_id, source)
            upload.temp_path.unlink(missing_ok=True)  # stored or refused: not needed any more
        if not created.accepted:
            raise BatchRejected(details={"items": [rejection(item) for item in created.items]})
        row = {
            "id": batch_id,
            "owner_id": owner_id,
            "created_at": datetime.now(UTC),
            "source": source,
            "total_files": len(created.items),
            "accepted_count": len(created.accepted),
            "rejected_count": len(created.items) - len(created.accepted),
            "rejected": [rejection(item) for item in created.items if item.error is not None],
            "completed_at": None,
        }
        await direct.transaction(lambda statements: _insert_batch(statements, row, created.accepted, settings))
        committed = True
        for item in created.accepted:
            assert item.prepared is not None
            record_upload(item.prepared.document["file_type"])
        return created
    finally:
        paths = received.temp_paths() + [entry.upload.temp_path for entry in entries]
        await anyio.to_thread.run_sync(lambda: [path.unlink(missing_ok=True) for path in paths])
        if not committed:
            await document_service.delete_stored(stored)


def _batch_archive_limits(settings: Settings) -> ArchiveLimits:
    limits = archive_limits(settings)
    return ArchiveLimits(
        max_member_bytes=limits.max_member_bytes,
        max_total_bytes=min(limits.max_total_bytes, settings.BATCH_MAX_TOTAL_SIZE),
        max_ratio=limits.max_ratio,
    )


async def _prepare(
    upload: ReceivedUpload,
    fields: Mapping[str, str],
    owner_id: uuid.UUID,
    settings: Settings,
    stored: list[str],
    batch_id: uuid.UUID,
    source: str,
) -> tuple[PreparedDocument | None, AppError | None]:
    try:
        prepared = await document_service.prepare_document(
            upload, fields, owner_id, settings, stored, batch_id=batch_id
        )
    except UnsupportedFileType as exc:
        mime = (exc.details or {}).get("detected_mime_type")
        if source == "zip" and mime in ARCHIVE_MIME_TYPES:
            return None, NestedArchive(details={"detected_mime_type": mime})
        return None, exc
    except AppError as exc:
        return None, exc
    return prepared, None


_BATCHES = Batch.__table__
_DOCUMENTS = Document.__table__
_INSERT_BATCH = direct.insert_statement(_BATCHES, [column.key for column in _BATCHES.c])


async def _insert_batch(
    statements: direct.Statements, row: dict[str, Any], accepted: Sequence[BatchItem], settings: Settings
) -> None:
    await statements.fetch("batch-insert", _INSERT_BATCH, row)
    for item in accepted:
        assert item.prepared is not None
        await document_service.insert_document(statements, item.prepared, settings)


# --- reading ----------------------------------------------------------------------------------


async def get_owned(session: AsyncSession, owner: User, batch_id: uuid.UUID) -> Batch:
    """The batch if `owner` owns it; 404 BATCH_NOT_FOUND otherwise, as for a document."""
    batch = await session.scalar(select(Batch).where(Batch.id == batch_id, Batch.owner_id == owner.id))
    if batch is None:
        raise BatchNotFound()
    return batch


def parse_batch_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BatchNotFound() from None


async def status_counts(session: AsyncSession, batch: Batch) -> dict[str, int]:
    rows = await session.execute(
        select(Document.status, func.count()).where(Document.batch_id == batch.id).group_by(Document.status)
    )
    return _counts(dict(rows.tuples().all()))


def _counts(by_status: Mapping[str, int]) -> dict[str, int]:
    return {status.value: int(by_status.get(status.value, 0)) for status in DocumentStatus}


async def documents_page(
    session: AsyncSession, batch: Batch, page: int, page_size: int
) -> tuple[list[Document], int, int]:
    total = int(await session.scalar(select(func.count()).where(Document.batch_id == batch.id)) or 0)
    documents = await session.scalars(
        select(Document)
        .where(Document.batch_id == batch.id)
        .order_by(Document.created_at, Document.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return list(documents.all()), total, math.ceil(total / page_size) if total else 0


async def document_ids(session: AsyncSession, batch: Batch) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Document.id).where(Document.batch_id == batch.id).order_by(Document.created_at, Document.id)
    )
    return list(rows.all())


async def report(session: AsyncSession, owner: User, batch: Batch, format_name: str | None) -> report_service.Summary:
    """The summary report of the batch's documents, in any report format."""
    ids = await document_ids(session, batch)
    return await report_service.summary(
        session,
        owner,
        document_ids=ids,
        file_type=None,
        status=None,
        date_from=None,
        date_to=None,
        title=f"일괄 업로드 요약 / Batch {batch.id} ({len(ids)} documents)",
        format_name=format_name,
    )


# --- progress (called by the worker, after the commit of a status change) ---------------------------


def publish_progress(
    session_factory: Callable[[], Session], batch_id: uuid.UUID, owner_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    """After a batch's document changed status: `batch.progress` with the batch's counts to its owner, and
    `batch.completed` when every document is final (sent once: the first worker to see it marks the
    batch). Never raises: progress is a notice, the state is in the database."""
    try:
        with session_factory() as session, session.begin():
            counts = _counts(
                dict(
                    session.execute(
                        select(Document.status, func.count())
                        .where(Document.batch_id == batch_id)
                        .group_by(Document.status)
                    )
                    .tuples()
                    .all()
                )
            )
            total = sum(counts.values())
            finished = sum(counts[str(status)] for status in FINAL_STATUSES)
            completed_now = False
            if total and finished == total:
                marked = session.execute(
                    update(Batch)
                    .where(Batch.id == batch_id, Batch.completed_at.is_(None))
                    .values(completed_at=datetime.now(UTC))
                )
                completed_now = bool(marked.rowcount)  # type: ignore[attr-defined]
        message = {
            "type": "batch.progress",
            "batch_id": str(batch_id),
            "document_id": str(document_id),
            "total": total,
            "finished": finished,
            "counts": counts,
        }
        broadcast(message, owner_id)
        if completed_now:
            broadcast({**message, "type": "batch.completed"}, owner_id)
    except Exception:
        logger.warning("batch progress for document %s not published", document_id, exc_info=True)
