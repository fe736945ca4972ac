"""Everything the documents API does, with ownership enforced in every query."""

from __future__ import annotations

import hashlib
import math
import statistics
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio
import orjson
from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.cache import invalidate, response_cache
from fastapi_app.core.config import Settings
from fastapi_app.core.errors import (
    BadRequest,
    DocumentBusy,
    DocumentNotFound,
    DocumentNotReady,
    EmptyFile,
    FileTooLarge,
    ValidationFailed,
)
from fastapi_app.core.logging import request_id_var
from fastapi_app.core.metrics import record_upload
from fastapi_app.core.security import encrypt_secret
from fastapi_app.core.vocabulary import EventType, FileFamily
from fastapi_app.db import direct
from fastapi_app.db.hooks import on_commit
from fastapi_app.db.session import async_session_factory
from fastapi_app.files.filetypes import DetectedType, archive_limits, detect_type, sanitize_filename
from fastapi_app.files.storage import StoredFileMissing, StoredStream, get_storage
from fastapi_app.files.uploads import ReceivedUpload
from fastapi_app.models import (
    Document,
    DocumentEvent,
    DocumentStatus,
    ExtractionRecord,
    ProcessingStage,
    User,
)
from fastapi_app.models.access import accepts_token, documents_with_owner, owned_by, owned_by_account
from fastapi_app.queue.dispatch import enqueue_processing
from fastapi_app.realtime.publisher import announce, record_event
from fastapi_app.schemas.common import ApiResponse
from fastapi_app.schemas.document import (
    DOCUMENT_OUT_FIELDS,
    DocumentOut,
    StatsSummary,
    Timeseries,
    document_envelope_json,
    document_json_row,
)
from fastapi_app.services import access_service, quota_service
from fastapi_app.services.document_filters import DocumentFilter, filter_clauses, filter_params, set_filters
from fastapi_app.services.report_service import delete_cached
from fastapi_app.services.webhook_service import validate_target_url

Row = Sequence[Any]
FILE_FAMILY_NAMES = tuple(family.value for family in FileFamily)


# Streams the request body into the given temp file (the api layer's multipart parser, api/uploads.py).
ReceiveUpload = Callable[[Path], Awaitable[ReceivedUpload]]
# Called with what was received, before anything is stored or written (the Idempotency-Key check).
Checkpoint = Callable[[Sequence[ReceivedUpload], Mapping[str, str]], Awaitable[None]]


@dataclass(slots=True)
class PreparedDocument:
    """A checked and stored file, ready to insert: the document's column values and its first event's."""

    document: dict[str, Any]
    event: dict[str, Any]


async def upload(
    receive: ReceiveUpload, owner_id: uuid.UUID, settings: Settings, *, checkpoint: Checkpoint | None = None
) -> dict[str, Any]:
    """Receive (through `receive`), check and store the file, then write the document and its first event
    in one transaction (Core statements on the raw pool, see fastapi_app/db/direct.py: the ORM's unit of
    work was a third of an upload's CPU time) and enqueue it once committed. Returns the document's column
    values."""
    storage = get_storage()
    temp_path = storage.new_temp_path()
    stored: list[str] = []
    committed = False
    try:
        received = await receive(temp_path)
        if checkpoint is not None:
            await checkpoint([received], received.fields)
        prepared = await prepare_document(received, received.fields, owner_id, settings, stored)
        await direct.transaction(lambda statements: insert_document(statements, prepared, settings))
        committed = True
        record_upload(prepared.document["file_type"])
        return prepared.document
    finally:
        temp_path.unlink(missing_ok=True)
        if not committed:
            await delete_stored(stored)


async def delete_stored(stored_names: Sequence[str]) -> None:
    """Remove stored originals whose rows were never committed. Shielded: a client that hangs up must not
    orphan the objects."""
    if not stored_names:
        return
    storage = get_storage()
    with anyio.CancelScope(shield=True):
        for name in stored_names:
            await anyio.to_thread.run_sync(storage.delete_quietly, name)


async def prepare_document(
    received: ReceivedUpload,
    fields: Mapping[str, str],
    owner_id: uuid.UUID,
    settings: Settings,
    stored: list[str],
    *,
    batch_id: uuid.UUID | None = None,
) -> PreparedDocument:
    """Every rule a single upload's file must pass, then the bytes moved into storage (their name added
    to `stored`, which the caller deletes unless the rows commit). The AppError of the first rule broken
    is what the client is told, for one upload or for one file of a batch."""
    storage = get_storage()
    temp_path = received.temp_path
    if received.over_limit:
        raise FileTooLarge(
            f"The file is larger than the upload limit of {settings.MAX_UPLOAD_SIZE} bytes.",
            details={"max_upload_size": settings.MAX_UPLOAD_SIZE},
        )
    claimed = (fields.get("file_type") or "").strip().lower() or None
    if claimed is not None and claimed not in FILE_FAMILY_NAMES:
        raise ValidationFailed(
            f"file_type must be one of {', '.join(FILE_FAMILY_NAMES)}.",
            details={"errors": [{"loc": ["body", "file_type"], "msg": "invalid value", "input": claimed}]},
        )
    if received.size == 0:
        raise EmptyFile()
    callback_url = await validate_target_url(fields.get("callback_url"), settings, field_name="callback_url")
    filename = sanitize_filename(received.filename)
    # Before the bytes are moved into storage; the transaction that inserts the row checks again under a
    # lock (insert_document), where the files of one batch count together.
    await quota_service.check_before_storing(owner_id, received.size, settings)

    def detect_and_store() -> DetectedType:
        # One trip to a worker thread for both: sniff the bytes, then move them into place.
        detected = detect_type(temp_path, filename, claimed, archive_limits(settings))
        stored_name = storage.new_stored_name(detected.extension)
        stored.append(stored_name)  # before the save: a failed or partial save is cleaned up too
        storage.save_from_temp(temp_path, stored_name)
        return detected

    detected = await anyio.to_thread.run_sync(detect_and_store)

    password = fields.get("password") or None
    document = direct.insert_values(
        _DOCUMENTS,
        {
            "owner_id": owner_id,
            "original_filename": filename,
            "stored_name": stored[-1],
            "file_type": str(detected.family),
            "mime_type": detected.mime_type,
            "size_bytes": received.size,
            "sha256": received.sha256,
            "encrypted_password": encrypt_secret(password) if password else None,
            "upload_warnings": detected.warnings,
            "request_id": request_id_var.get(),
            "callback_url": callback_url,
            "batch_id": batch_id,
        },
    )
    event = direct.insert_values(
        _EVENTS,
        _queued_event_values(
            document["id"], document["owner_id"], document["current_run"], "Uploaded; waiting for a worker"
        ),
    )
    return PreparedDocument(document, event)


async def insert_document(statements: direct.Statements, prepared: PreparedDocument, settings: Settings) -> None:
    await _insert_upload(statements, prepared.document, prepared.event, settings)


async def _insert_upload(
    statements: direct.Statements, document: dict[str, Any], event: dict[str, Any], settings: Settings
) -> None:
    """The upload's writes: the quota count (or its 429/413, rolling everything back: for a batch, the
    whole batch, whose files count together), the duplicate
    check, the document and its first event (its id set in `event`), then the enqueue and the broadcast
    once committed. Safe to run again (the transaction is retried once on a stale connection, with
    statements of its own)."""
    await quota_service.count_upload(statements, document["owner_id"], document["size_bytes"], settings)
    duplicates = await statements.fetch(
        "upload-duplicate-of",
        _first_with_checksum,
        {"owner_id": document["owner_id"], "sha256": document["sha256"], "limit": 1},
    )
    if duplicates:
        document["duplicate_of_id"] = duplicate_of = duplicates[0][0]
        notice = {"code": "DUPLICATE_UPLOAD", "message": f"The same content was uploaded before as {duplicate_of}."}
        document["upload_warnings"] = [*document["upload_warnings"], notice]
    await statements.fetch("upload-insert-document", _INSERT_DOCUMENT, document)
    inserted = await statements.fetch("upload-insert-event", _INSERT_EVENT, event)
    event["id"] = int(inserted[0][0])
    # Only after the commit can the worker see the row; a failed enqueue leaves it to the recovery sweep.
    on_commit(statements, _enqueue_callback(str(document["id"]), document["current_run"], document["request_id"]))
    on_commit(statements, lambda: announce(DocumentEvent(**event)))


def _first_with_checksum() -> Select[Any]:
    return (
        select(_DOCUMENTS.c.id)
        .where(_DOCUMENTS.c.owner_id == bindparam("owner_id"), _DOCUMENTS.c.sha256 == bindparam("sha256"))
        .order_by(_DOCUMENTS.c.created_at)
        .limit(bindparam("limit"))
    )


def _queued_event_values(document_id: uuid.UUID, owner_id: uuid.UUID, run: int, message: str) -> dict[str, Any]:
    """The columns of a document's "queued" event: the upload writes it directly, reprocess through the ORM."""
    return {
        "document_id": document_id, "owner_id": owner_id, "run": run, "type": str(EventType.PROCESSING),
        "status": str(DocumentStatus.PENDING), "stage": str(ProcessingStage.QUEUED), "progress": 0, "message": message,
    }  # fmt: skip


def _queued_event(session: AsyncSession, document: Document, message: str) -> None:
    values = _queued_event_values(document.id, document.owner_id, document.current_run, message)
    record_event(session, event_type=values.pop("type"), **values)


def _enqueue_callback(document_id: str, run: int, request_id: str | None) -> Callable[[], None]:
    return lambda: enqueue_processing(document_id, run, request_id=request_id)


def _enqueue_after_commit(session: AsyncSession, document: Document) -> None:
    on_commit(session, _enqueue_callback(str(document.id), document.current_run, document.request_id))


_DOCUMENTS = Document.__table__
_USERS = User.__table__
# What DocumentOut shows: the hot reads fetch these columns and nothing else (never the password).
PUBLIC_COLUMNS = tuple(_DOCUMENTS.c[name] for name in DOCUMENT_OUT_FIELDS)
_EVENTS = DocumentEvent.__table__


def public_row(document: dict[str, Any]) -> list[Any]:
    """A document's column values (as `upload` returns them) in PUBLIC_COLUMNS order, like a hot read's row."""
    return [document[column.key] for column in PUBLIC_COLUMNS]


_INSERT_DOCUMENT = direct.insert_statement(_DOCUMENTS, [column.key for column in _DOCUMENTS.c])
_INSERT_EVENT = direct.insert_statement(
    _EVENTS, [column.key for column in _EVENTS.c if column is not _EVENTS.c.id], returning=["id"]
)


def _document_for_active_owner() -> Select[Any]:
    return (
        select(*PUBLIC_COLUMNS)
        .select_from(documents_with_owner())
        .where(owned_by_account(), _DOCUMENTS.c.id == bindparam("document_id"))
    )


async def find_for_active_owner(owner_id: uuid.UUID, token_version: int, document_id: uuid.UUID) -> Row | None:
    """The document's public columns if `owner_id` owns it *and* that account still exists, is active and
    still accepts tokens of `token_version`, in one query: the read path of a token's request, without a
    separate account lookup. None says nothing about which condition failed; the caller checks the
    account then (the rare path)."""
    rows = await direct.fetch(
        "document-for-active-owner",
        _document_for_active_owner,
        {"owner_id": owner_id, "token_version": token_version, "document_id": document_id},
    )
    return rows[0] if rows else None


async def get_for_active_owner(owner_id: uuid.UUID, token_version: int, document_id: uuid.UUID) -> Row:
    """`find_for_active_owner`, or the account's 401/403 when it refuses the token, else 404."""
    row = await find_for_active_owner(owner_id, token_version, document_id)
    if row is None:
        await access_service.check_account(owner_id, token_version)  # a deleted or disabled account: 401/403
        raise DocumentNotFound()
    return row


def _account_check(owner_id: uuid.UUID, token_version: int) -> Callable[[], Awaitable[bool]]:
    """For a cache hit of a read whose query joined the account check in: the account is asked again,
    in one indexed query, so an account disabled or deleted by any means (even SQL) is refused at once."""
    return lambda: access_service.accepts(owner_id, token_version)


_SORTS = {
    "created_at": _DOCUMENTS.c.created_at,
    "original_filename": _DOCUMENTS.c.original_filename,
    "size_bytes": _DOCUMENTS.c.size_bytes,
    "status": _DOCUMENTS.c.status,
    "completed_at": _DOCUMENTS.c.completed_at,
}


def _list_where(filters: tuple[str, ...]) -> Any:
    return and_(owned_by_account(), *filter_clauses(filters))


def _list_page(filters: tuple[str, ...], sort: str) -> Callable[[], Select[Any]]:
    def build() -> Select[Any]:
        column = _SORTS[sort.lstrip("-")]
        order = column.desc() if sort.startswith("-") else column.asc()
        # The total rides on the page's rows (a window count): one round trip instead of two.
        return (
            select(*PUBLIC_COLUMNS, func.count().over().label("total_count"))
            .select_from(documents_with_owner())
            .where(_list_where(filters))
            .order_by(order, _DOCUMENTS.c.id)
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        )

    return build


def _list_count(filters: tuple[str, ...]) -> Callable[[], Select[Any]]:
    def build() -> Select[Any]:
        # A row only while the account is active: no row tells the caller to check the account.
        counted = select(func.count()).select_from(_DOCUMENTS).where(and_(owned_by(), *filter_clauses(filters)))
        return select(counted.scalar_subquery().label("total_count")).where(
            _USERS.c.id == bindparam("owner_id"), accepts_token()
        )

    return build


def _as_utc(value: datetime) -> datetime:
    # A naive query date (?date_from=2026-03-01T00:00:00) is UTC, never the server's local time.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def list_documents(
    owner_id: uuid.UUID,
    *,
    token_version: int,
    page: int,
    page_size: int,
    status: str | None = None,
    file_type: str | None = None,
    search: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    sort: str = "-created_at",
) -> tuple[list[Row], int, int]:
    """A page of documents (their public columns), the total and the number of pages; the account's
    401/403 when the account behind `owner_id` (from a token, not looked up yet) is gone, disabled or no
    longer accepts tokens of `token_version`."""
    document_filter = DocumentFilter(
        status=status,
        file_type=file_type,
        search=search,
        date_from=_as_utc(date_from) if date_from else None,
        date_to=_as_utc(date_to) if date_to else None,
    )
    params: dict[str, Any] = {
        "owner_id": owner_id,
        "token_version": token_version,
        "limit": page_size,
        "offset": (page - 1) * page_size,
        **filter_params(document_filter),
    }
    if sort.lstrip("-") not in _SORTS:
        raise ValidationFailed(f"Unknown sort field: {sort}")
    filters = set_filters(params)
    rows = await direct.fetch(("documents-page", filters, sort), _list_page(filters, sort), params)
    if rows:
        total = int(rows[0][len(PUBLIC_COLUMNS)])  # the window count, after the public columns
    else:
        # An empty page: no documents, a page past the end, or an account that is gone or disabled.
        counted = await direct.fetch(("documents-count", filters), _list_count(filters), params)
        if not counted:
            await access_service.check_account(owner_id, token_version)  # raises the 401 or 403
            raise AssertionError("unreachable: the account check passed but the count query found no account")
        total = int(counted[0][0] or 0)
    total_pages = math.ceil(total / page_size) if total else 0
    return list(rows), total, total_pages


async def list_documents_json(
    owner_id: uuid.UUID, *, token_version: int, page: int, page_size: int, **query: Any
) -> bytes:
    """The response body of the list (`list_documents`' page in the envelope), through the per-user cache."""

    async def read() -> bytes:
        rows, total, total_pages = await list_documents(
            owner_id, token_version=token_version, page=page, page_size=page_size, **query
        )
        return document_envelope_json(
            [document_json_row(row) for row in rows],
            total=total,
            page=page,
            page_size=page_size,
            total_pages=total_pages,
        )

    cache = response_cache()
    if cache is None:
        return await read()
    # Hashed: a search text may be long and hold any character.
    described = orjson.dumps(query, option=orjson.OPT_SORT_KEYS, default=str)
    digest = hashlib.blake2b(described, digest_size=12).hexdigest()
    return await cache.cached(
        owner_id, f"list:{page}:{page_size}:{digest}:t{token_version}", read, _account_check(owner_id, token_version)
    )


async def delete(session: AsyncSession, document: Document) -> None:
    document_id, owner_id, stored_name = document.id, document.owner_id, document.stored_name
    await session.delete(document)
    await session.commit()
    # The file goes only once the row is gone for good (a failed commit raised above and keeps both);
    # in a thread, since with S3 it is a network call. Shielded: a client that hangs up after the commit
    # must not leave the cached reads of the deleted document reachable.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(invalidate, owner_id)
        await anyio.to_thread.run_sync(get_storage().delete_quietly, stored_name)
        await anyio.to_thread.run_sync(delete_cached, document_id)


async def reprocess(session: AsyncSession, document: Document, settings: Settings) -> Document:
    stale_before = datetime.now(UTC) - timedelta(minutes=settings.STALE_PROCESSING_MINUTES)
    busy = document.status in (DocumentStatus.PENDING, DocumentStatus.PROCESSING)
    if busy and document.queued_at > stale_before:
        raise DocumentBusy(details={"status": document.status, "stage": document.stage})
    document.current_run += 1
    document.status = DocumentStatus.PENDING
    document.stage = ProcessingStage.QUEUED
    document.progress = 0
    document.error_code = None
    document.error_message = None
    document.attempts = 0
    document.queued_at = datetime.now(UTC)
    document.processing_started_at = None
    document.completed_at = None
    document.processing_ms = None
    document.request_id = request_id_var.get()
    _queued_event(session, document, "Queued again for reprocessing")
    _enqueue_after_commit(session, document)
    await session.commit()
    return document


async def get_extraction(session: AsyncSession, document: Document) -> ExtractionRecord:
    if document.status != DocumentStatus.COMPLETED:
        raise DocumentNotReady(
            details={"status": document.status, "stage": document.stage, "progress": document.progress}
        )
    record = await session.scalar(
        select(ExtractionRecord)
        .where(ExtractionRecord.document_id == document.id)
        .order_by(ExtractionRecord.run.desc())
        .limit(1)
    )
    if record is None:
        raise DocumentNotReady("The extraction result is missing; reprocess the document.")
    return record


async def list_events(session: AsyncSession, document: Document) -> list[DocumentEvent]:
    query = select(DocumentEvent).where(DocumentEvent.document_id == document.id).order_by(DocumentEvent.id)
    return list((await session.scalars(query)).all())


@dataclass(frozen=True, slots=True)
class OriginalFile:
    """What a download sends: a local file (`path`), or a stream opened on the object store (`stream`)."""

    filename: str
    media_type: str
    sha256: str
    path: Path | None = None
    stream: StoredStream | None = None


async def original_file(document: Document) -> OriginalFile:
    """The document's stored bytes, ready to send; 400 FILE_MISSING when they are gone."""
    storage = get_storage()
    path = storage.local_path(document.stored_name)
    stream: StoredStream | None = None
    if path is None:
        try:
            # Opened before the response starts, so a missing object is still a clean error envelope.
            stream = await anyio.to_thread.run_sync(storage.stream, document.stored_name)
        except StoredFileMissing:
            raise BadRequest("The stored file is missing.", error_code="FILE_MISSING") from None
    elif not path.is_file():
        raise BadRequest("The stored file is missing.", error_code="FILE_MISSING")
    return OriginalFile(document.original_filename, document.mime_type, document.sha256, path=path, stream=stream)


async def unfinished_documents(owner_id: uuid.UUID, limit: int) -> list[Document]:
    """The account's pending and processing documents, oldest first; in a session of its own (the
    WebSocket's snapshot, which has no request session)."""
    async with async_session_factory()() as session:
        documents = await session.scalars(
            select(Document)
            .where(owned_by(owner_id), Document.status.in_([DocumentStatus.PENDING, DocumentStatus.PROCESSING]))
            .order_by(Document.created_at)
            .limit(limit)
        )
        return list(documents.all())


async def stats_summary(session: AsyncSession, owner: User) -> dict[str, Any]:
    mine = owned_by(owner.id)
    by_status = dict(
        (await session.execute(select(Document.status, func.count()).where(mine).group_by(Document.status))).all()
    )
    by_type = dict(
        (await session.execute(select(Document.file_type, func.count()).where(mine).group_by(Document.file_type))).all()
    )
    totals = (
        await session.execute(select(func.count(), func.coalesce(func.sum(Document.size_bytes), 0)).where(mine))
    ).one()
    timing = (
        await session.execute(
            select(
                func.avg(Document.processing_ms), func.min(Document.processing_ms), func.max(Document.processing_ms)
            ).where(mine, Document.status == DocumentStatus.COMPLETED)
        )
    ).one()
    since = datetime.now(UTC) - timedelta(hours=24)
    recent_counts = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((Document.status == DocumentStatus.COMPLETED, 1), else_=0)), 0),
                func.coalesce(func.sum(case((Document.status == DocumentStatus.FAILED, 1), else_=0)), 0),
            ).where(mine, Document.created_at >= since)
        )
    ).one()
    recent = list(
        (await session.scalars(select(Document).where(mine).order_by(Document.created_at.desc()).limit(5))).all()
    )
    count, size = int(totals[0]), int(totals[1])
    completed, failed = by_status.get("completed", 0), by_status.get("failed", 0)
    return {
        "total_documents": count,
        "by_status": {s.value: int(by_status.get(s.value, 0)) for s in DocumentStatus},
        "by_type": {t: int(by_type.get(t, 0)) for t in FILE_FAMILY_NAMES},
        "total_size_bytes": size,
        "average_size_bytes": round(size / count, 1) if count else None,
        "processing_ms": {
            "average": round(float(timing[0]), 1) if timing[0] is not None else None,
            "min": float(timing[1]) if timing[1] is not None else None,
            "max": float(timing[2]) if timing[2] is not None else None,
        },
        "success_rate": round(completed / (completed + failed), 4) if completed + failed else None,
        "last_24h": {
            "uploaded": int(recent_counts[0]),
            "completed": int(recent_counts[1]),
            "failed": int(recent_counts[2]),
        },
        "recent": recent,
    }


async def stats_summary_json(session: AsyncSession, owner_id: uuid.UUID, token_version: int) -> bytes:
    """The response body of the summary for the token's account, through the per-user cache (a hit only
    asks the account whether it still accepts the token). Its `last_24h` counts are those of the moment
    it was computed: at most CACHE_TTL_SECONDS old, while any change of the owner's documents invalidates
    it at once."""

    async def read() -> bytes:
        owner = await access_service.load_account(session, owner_id, token_version)
        summary = await stats_summary(session, owner)
        summary["recent"] = [DocumentOut.model_validate(d) for d in summary["recent"]]
        return ApiResponse[StatsSummary](data=StatsSummary(**summary)).model_dump_json().encode()

    cache = response_cache()
    if cache is None:
        return await read()
    return await cache.cached(owner_id, "stats:summary", read, _account_check(owner_id, token_version))


async def timeseries_json(
    session: AsyncSession, owner_id: uuid.UUID, token_version: int, days: int, tz_name: str
) -> bytes:
    """The response body of `timeseries` for the token's account, through the per-user cache; today's
    date (in the zone) is part of the key, so the window moves at midnight."""

    async def read() -> bytes:
        owner = await access_service.load_account(session, owner_id, token_version)
        series = await timeseries(session, owner, days, tz_name)
        return ApiResponse[Timeseries](data=Timeseries(**series)).model_dump_json().encode()

    cache = response_cache()
    try:
        today = datetime.now(zone(tz_name)).date().isoformat()
    except ValidationFailed:
        cache = None  # read() answers: the account's 401/403 first, then the zone's 422, as before
    if cache is None:
        return await read()
    name = f"stats:timeseries:{days}:{tz_name}:{today}"
    return await cache.cached(owner_id, name, read, _account_check(owner_id, token_version))


MAX_TIMESERIES_DAYS = 366


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or 422 VALIDATION_ERROR."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"Unknown time zone: {name!r}; use an IANA name such as Asia/Seoul or UTC.",
            details={"errors": [{"loc": ["query", "tz"], "msg": "unknown time zone", "input": name}]},
        ) from None


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


async def timeseries(session: AsyncSession, owner: User, days: int, tz_name: str) -> dict[str, Any]:
    """The owner's uploads per day of `tz_name` over the last `days` days (today included), every day
    present, oldest first: counts by status and type, and the processing time of the completed ones.
    Grouped in Python over the window's rows (four columns, at most a year): a local-day bucket in SQL
    would need a different expression on SQLite and PostgreSQL."""
    if not 1 <= days <= MAX_TIMESERIES_DAYS:
        raise ValidationFailed(f"days must be between 1 and {MAX_TIMESERIES_DAYS}.")
    tz = zone(tz_name)
    today = datetime.now(tz).date()
    first = today - timedelta(days=days - 1)
    # Midnight of the first local day; fold/gap handled by zoneinfo when converting to UTC.
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    rows = (
        await session.execute(
            select(Document.created_at, Document.status, Document.file_type, Document.processing_ms).where(
                owned_by(owner.id), Document.created_at >= start
            )
        )
    ).all()
    buckets: dict[date, dict[str, Any]] = {}
    for offset in range(days):
        day = first + timedelta(days=offset)
        buckets[day] = {
            "date": day.isoformat(),
            "total": 0,
            "by_status": {s.value: 0 for s in DocumentStatus},
            "by_type": dict.fromkeys(FILE_FAMILY_NAMES, 0),
            "_ms": [],
        }
    for created_at, status, file_type, processing_ms in rows:
        bucket = buckets.get(created_at.astimezone(tz).date())
        if bucket is None:  # uploaded after local midnight today, by a clock ahead of ours
            continue
        bucket["total"] += 1
        bucket["by_status"][status] = bucket["by_status"].get(status, 0) + 1
        bucket["by_type"][file_type] = bucket["by_type"].get(file_type, 0) + 1
        if status == DocumentStatus.COMPLETED and processing_ms is not None:
            bucket["_ms"].append(int(processing_ms))
    series = []
    for bucket in buckets.values():
        timings = bucket.pop("_ms")
        bucket["processing_ms_avg"] = round(sum(timings) / len(timings), 1) if timings else None
        bucket["processing_ms_p50"] = _median(timings)
        series.append(bucket)
    return {"tz": tz.key, "days": series}
