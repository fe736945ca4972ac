"""Processing one document: an ordered chain of steps, each committing its own state.

claim -> read -> extract -> analyze -> report -> finish. Any deterministic failure ends the run
`failed` with an error_code; transient database errors propagate so Celery retries the task.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, DateTime, Engine, LargeBinary, Row, Uuid, bindparam, func, null, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.metrics import record_stage
from fastapi_app.core.security import decrypt_secret
from fastapi_app.core.vocabulary import FINAL_EVENT_TYPES, EventType
from fastapi_app.db.base import new_id
from fastapi_app.db.hooks import on_commit
from fastapi_app.db.session import sync_session_factory
from fastapi_app.extractors import pdf as pdf_extractor
from fastapi_app.extractors.base import ExtractionContext, ExtractionError, ExtractionResult
from fastapi_app.extractors.engine import analyze_content, extract_content
from fastapi_app.files.filetypes import archive_limits
from fastapi_app.files.storage import StoredFileMissing, get_storage
from fastapi_app.models import (
    Document,
    DocumentEvent,
    DocumentPart,
    DocumentStatus,
    ExtractionRecord,
    ProcessingAttempt,
    ProcessingStage,
    Report,
    json_bytes,
)
from fastapi_app.queue.dispatch import enqueue_part
from fastapi_app.realtime.events import event_message
from fastapi_app.realtime.publisher import announce, record_event
from fastapi_app.reports.builder import build_report
from fastapi_app.services import batch_service
from fastapi_app.services.webhook_service import on_final_event
from fastapi_app.tasks.heartbeat import Heartbeat

logger = logging.getLogger("fastapi_app.pipeline")

# A stage change and its event, in one statement (PostgreSQL): the UPDATE's row feeds the INSERT, so a
# run that ended (or was replaced) writes neither.
_STAGE_AND_EVENT = text(
    "WITH updated AS ("
    " UPDATE documents SET stage = :stage, progress = :progress, updated_at = :now"
    " WHERE id = :document_id AND current_run = :run AND status = :processing"
    # Committed without waiting for the WAL flush (~0.2 ms each): a stage event lost to a database crash
    # is harmless, the next one or the final one (committed synchronously) supersedes it.
    " RETURNING id, owner_id, set_config('synchronous_commit', 'off', true))"
    " INSERT INTO document_events"
    " (document_id, owner_id, run, type, status, stage, progress, message, error_code, details, created_at)"
    " SELECT id, owner_id, :run, :event_type, :processing, :stage, :progress, :message, NULL, :details, :now"
    " FROM updated RETURNING id"
).bindparams(
    bindparam("document_id", type_=Uuid),
    bindparam("details", type_=JSONB),
    bindparam("now", type_=DateTime(timezone=True)),
)


# The claim on PostgreSQL, in one transaction of three statements (BENCHMARKS, issue 18 pipeline overhead):
# the row locked with every column the run reads later (so reading the file needs no query of its own)...
_CLAIM_COLUMNS = (
    "id", "owner_id", "batch_id", "current_run", "status", "processing_started_at", "original_filename",
    "created_at", "stored_name", "mime_type", "file_type", "size_bytes", "sha256", "encrypted_password",
    "upload_warnings",
)  # fmt: skip
_CLAIM_LOCK = (
    select(
        *(Document.__table__.c[name] for name in _CLAIM_COLUMNS),
        # The claim is committed without waiting for the WAL flush (transaction-local; the final store's
        # synchronous commit flushes it too). A database crash that loses it also drops this worker's
        # connection: the task's next statement fails, and the retry (or the recovery sweep) claims again.
        func.set_config("synchronous_commit", "off", True).label("commit_mode"),
    )
    .where(Document.id == bindparam("document_id", type_=Uuid))
    .with_for_update()
)
# ...then, under that lock (a statement of its own, so that it sees what a twin delivery committed while this
# one waited), the attempts of deliveries whose worker died are marked lost and the run's attempts counted
# (the CTE's change is not visible to the SELECT beside it: "running" rows count as lost)...
_CLAIM_ATTEMPTS = text(
    "WITH lost AS ("
    " UPDATE processing_attempts SET outcome = 'lost', finished_at = :now"
    " WHERE document_id = :document_id AND run = :run AND outcome = 'running' RETURNING id)"
    " SELECT max(attempt_number) AS previous,"
    " count(*) FILTER (WHERE outcome IN ('lost', 'running')) AS lost_total,"
    " EXISTS (SELECT 1 FROM document_parts WHERE document_id = :document_id AND run = :run) AS has_parts"
    " FROM processing_attempts WHERE document_id = :document_id AND run = :run"
).bindparams(bindparam("document_id", type_=Uuid), bindparam("now", type_=DateTime(timezone=True)))
# ...and the new attempt, the document's status and its "Processing started" event written together.
_CLAIM_WRITE = text(
    "WITH attempt AS ("
    " INSERT INTO processing_attempts (id, document_id, run, attempt_number, task_id, worker, outcome, started_at)"
    " VALUES (:attempt_id, :document_id, :run, :attempt_number, :task_id, :worker, 'running', :now)),"
    " updated AS ("
    " UPDATE documents SET attempts = :attempt_number, task_id = :task_id,"
    " processing_started_at = COALESCE(processing_started_at, :now),"
    " status = :processing, stage = :stage, progress = :progress, updated_at = :now"
    " WHERE id = :document_id RETURNING id, owner_id)"
    " INSERT INTO document_events"
    " (document_id, owner_id, run, type, status, stage, progress, message, error_code, details, created_at)"
    " SELECT id, owner_id, :run, :event_type, :processing, :stage, :progress, :message, NULL, '{}'::jsonb, :now"
    " FROM updated RETURNING id"
).bindparams(
    bindparam("attempt_id", type_=Uuid),
    bindparam("document_id", type_=Uuid),
    bindparam("now", type_=DateTime(timezone=True)),
)

# The run's whole store on PostgreSQL in one autocommitted statement: the document row (its lock, and the
# condition that the run is still current and not completed), the one extraction and the one report (a
# redelivery that got this far before replaces them: ON CONFLICT on their unique keys), the parts' spans
# dropped, the attempt closed, the final event, and the webhook target read in the same snapshot. No row
# back: nothing was written, and `_finish_in_one_statement` asks why. The commit stays synchronous: it is
# the run's outcome, and its webhook goes out once it has returned.
_FINISH = text(
    "WITH updated AS ("
    " UPDATE documents SET status = :completed, stage = :done, progress = 100, error_code = NULL,"
    " error_message = NULL, completed_at = :now, updated_at = :now, processing_ms = GREATEST("
    "floor(EXTRACT(EPOCH FROM (:now - COALESCE(processing_started_at, :now))) * 1000)::int, 0)"
    " WHERE id = :document_id AND current_run = :run AND status <> :completed"
    " RETURNING id, owner_id, processing_ms, callback_url),"
    " extraction AS ("
    " INSERT INTO extraction_results (id, document_id, run, schema_version, data, created_at)"
    " SELECT :extraction_id, id, :run, :schema_version, convert_from(:data, 'UTF8')::jsonb, :now FROM updated"
    " ON CONFLICT (document_id, run)"
    " DO UPDATE SET data = EXCLUDED.data, schema_version = EXCLUDED.schema_version),"
    " report AS ("
    " INSERT INTO reports (id, document_id, version, schema_version, title, content, created_at)"
    " SELECT :report_id, id, :run, :report_schema_version, :title, :content, :now FROM updated"
    " ON CONFLICT (document_id, version) DO UPDATE SET"
    " schema_version = EXCLUDED.schema_version, title = EXCLUDED.title, content = EXCLUDED.content),"
    " spans AS ("
    " UPDATE document_parts SET span = NULL"
    " WHERE document_id = :document_id AND run <= :run AND span IS NOT NULL AND EXISTS (SELECT 1 FROM updated)),"
    " attempt AS ("
    " UPDATE processing_attempts SET outcome = 'completed', error_code = NULL, error_message = NULL,"
    " finished_at = :now WHERE id = :attempt_id AND EXISTS (SELECT 1 FROM updated)),"
    " event AS ("
    " INSERT INTO document_events"
    " (document_id, owner_id, run, type, status, stage, progress, message, error_code, details, created_at)"
    " SELECT id, owner_id, :run, :event_type, :completed, :done, 100, :message, NULL,"
    " jsonb_build_object('processing_ms', processing_ms), :now FROM updated RETURNING id)"
    " SELECT event.id AS event_id, updated.owner_id, updated.processing_ms, updated.callback_url, users.webhook_url"
    " FROM updated CROSS JOIN event LEFT JOIN users ON users.id = updated.owner_id"
).bindparams(
    bindparam("document_id", type_=Uuid),
    bindparam("attempt_id", type_=Uuid),
    bindparam("extraction_id", type_=Uuid),
    bindparam("report_id", type_=Uuid),
    bindparam("data", type_=LargeBinary),
    bindparam("content", type_=JSONB),
    bindparam("now", type_=DateTime(timezone=True)),
)


class _Upload(Protocol):
    """What the run reads of its document row after the claim: fixed at upload, so read once."""

    file_type: str
    stored_name: str
    mime_type: str
    size_bytes: int
    sha256: str
    encrypted_password: str | None
    upload_warnings: list[dict[str, Any]] | None
    original_filename: str
    created_at: datetime


@lru_cache
def _autocommit(engine: Engine) -> Engine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")


# How far each stage has got, as a share of the progress bar.
STAGE_PROGRESS = {
    ProcessingStage.READING: 5,
    ProcessingStage.EXTRACTING: 10,
    ProcessingStage.ANALYZING: 80,
    ProcessingStage.REPORTING: 90,
}
EXTRACT_SPAN = (10, 78)
STAGE_MESSAGES = {
    ProcessingStage.READING: "Reading the file",
    ProcessingStage.EXTRACTING: "Extracting text, tables and metadata",
    ProcessingStage.OCR: "Recognising text (OCR)",
    ProcessingStage.ANALYZING: "Finding key values and entities",
    ProcessingStage.REPORTING: "Building the report",
}
PROGRESS_WRITE_INTERVAL_S = 0.5
CONNECTION_REUSE_S = 1.0


@dataclass(slots=True)
class Outcome:
    status: str
    detail: str = ""


@dataclass(slots=True, frozen=True)
class _Serialised:
    """An extraction as stored: its schema version and its JSON (UTF-8)."""

    schema_version: str
    data: bytes


class RunEnded(Exception):
    """The run ended (a twin delivery completed or failed it) while this delivery was under way."""


class StepFailed(Exception):
    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


class DocumentPipeline:
    def __init__(
        self,
        document_id: str,
        run: int,
        *,
        task_id: str | None = None,
        worker: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.document_id = uuid.UUID(document_id)
        self.run = run
        self.task_id = task_id
        self.worker = worker
        self.settings = settings or get_settings()
        self.session_factory = sync_session_factory()
        self.attempt_id: uuid.UUID | None = None
        self.owner_id: uuid.UUID | None = None
        self.file_type: str | None = None
        # The row as the claim (or else `_read`) loaded it: reading the file and building the report need only
        # columns fixed at upload, so reloading it in a session of its own would cost a round trip per document.
        self._loaded: _Upload | None = None
        self._merged_parts = False
        # Warnings recorded at upload (e.g. EXTENSION_MISMATCH), added to the result after extraction.
        self._upload_warnings: list[dict[str, Any]] = []
        self._last_progress_write = 0.0
        # The final event (completed or failed) recorded in the current transaction, if any.
        self._final_event: DocumentEvent | None = None
        # Set when the current transaction changes the document's status: its batch hears of it.
        self._status_changed = False
        self.batch_id: uuid.UUID | None = None
        # See `_connection`.
        self._held_connection: Connection | None = None
        self._held_used_at = 0.0
        # Re-sends the last committed event while a long step has nothing new to say (tasks/heartbeat.py).
        self.heartbeat = Heartbeat(fields=self._heartbeat_fields)

    # --- entry point ---------------------------------------------------------------------
    def execute(self) -> Outcome:
        claimed = self._claim()
        if claimed is not None:
            return claimed
        try:
            with self.heartbeat:
                return self._execute_claimed()
        finally:
            self._release_connection()

    def _execute_claimed(self) -> Outcome:
        started = time.perf_counter()
        try:
            result = self._read_and_extract()
            if result is None:
                return Outcome("fanned_out")
            mark = self._timed("extract", started)
            self._analyze(result)
            mark = self._timed("analyze", mark)
            report = self._report(result)
            mark = self._timed("report", mark)
            # Serialised before the store, and the result dropped: a large one is not held twice (as
            # objects and as JSON) while the database takes it.
            extraction = _Serialised(result.schema_version, result.__pydantic_serializer__.to_json(result))
            del result
            if not self._finish(extraction, report, started):
                return Outcome("skipped", f"run {self.run} already completed")
            self._timed("save", mark)
            return Outcome("completed")
        except RunEnded as ended:
            with self.session_factory.begin() as session:
                self._close_attempt(session, "duplicate")
            return Outcome("skipped", str(ended))
        except StepFailed as failure:
            self._fail(failure.error_code, failure.message)
            return Outcome("failed", failure.error_code)
        except ExtractionError as failure:
            self._fail(failure.error_code, failure.message)
            return Outcome("failed", failure.error_code)

    def _timed(self, stage: str, since: float) -> float:
        # Only stages that ended well are timed: a failed one's time says more about the failure.
        now = time.perf_counter()
        record_stage(stage, self.file_type, now - since)
        return now

    # --- steps ---------------------------------------------------------------------------
    def _lock_run(self, session: Session) -> tuple[Document | None, Outcome | None]:
        """Lock the document row for this run (whole-document and page-part deliveries alike), or say
        why this delivery has nothing to do: deleted, a stale run, or the run already ended."""
        document = session.scalar(select(Document).where(Document.id == self.document_id).with_for_update())
        skipped = self._skip_reason(document)
        return (None, skipped) if skipped is not None else (document, None)

    def _skip_reason(self, document: Document | Row[Any] | None) -> Outcome | None:
        if document is None:
            return Outcome("skipped", "document deleted")
        self.owner_id = document.owner_id
        self.batch_id = document.batch_id
        if document.current_run != self.run:
            return Outcome("skipped", f"stale run {self.run}; current is {document.current_run}")
        if document.status in (DocumentStatus.COMPLETED, DocumentStatus.FAILED):
            return Outcome("skipped", f"run {self.run} already {document.status}")
        return None

    @property
    def _postgres(self) -> bool:
        return bool(self.session_factory.kw["bind"].dialect.name == "postgresql")

    def _claim(self) -> Outcome | None:
        """Take the document for this run, or explain why there is nothing to do."""
        if self._postgres:
            handled, outcome = self._claim_in_three_statements()
            if handled:
                return outcome
        return self._claim_with_orm()

    def _claim_in_three_statements(self) -> tuple[bool, Outcome | None]:
        """The claim of a run's first delivery, or of a redelivery, on PostgreSQL: Core statements in one
        transaction, no ORM unit of work (`_CLAIM_LOCK`, `_CLAIM_ATTEMPTS`, `_CLAIM_WRITE`). (False, None)
        when the case is one of the rare ones the ORM claim handles: the attempt cap reached (WORKER_LOST),
        or the merge of a fanned-out run; nothing is written then."""
        now = datetime.now(UTC)
        attempt_id = new_id()
        with self.session_factory.kw["bind"].connect() as connection, connection.begin() as transaction:
            row = connection.execute(_CLAIM_LOCK, {"document_id": self.document_id}).first()
            skipped = self._skip_reason(row)
            if skipped is not None:
                return True, skipped
            assert row is not None
            keys = {"document_id": self.document_id, "run": self.run}
            counts = connection.execute(_CLAIM_ATTEMPTS, {**keys, "now": now}).one()
            merging = row.status == DocumentStatus.PROCESSING and counts.has_parts
            if counts.lost_total >= self.settings.MAX_PROCESSING_ATTEMPTS or merging:
                transaction.rollback()
                return False, None
            stage, progress = ProcessingStage.READING, STAGE_PROGRESS[ProcessingStage.READING]
            message = "Processing started"
            event_id = connection.execute(
                _CLAIM_WRITE,
                {
                    **keys,
                    "attempt_id": attempt_id,
                    "attempt_number": (counts.previous or 0) + 1,
                    "task_id": self.task_id,
                    "worker": self.worker,
                    "now": now,
                    "processing": DocumentStatus.PROCESSING.value,
                    "stage": stage.value,
                    "progress": progress,
                    "event_type": EventType.PROCESSING.value,
                    "message": message,
                },
            ).scalar_one()
        self.attempt_id = attempt_id
        self._loaded = row  # type: ignore[assignment]  # a Row has the columns as attributes
        self._committed(
            self._written_event(event_id, row.owner_id, EventType.PROCESSING, stage, progress, message, {}, now),
            status_changed=True,
        )
        logger.info("document %s run %s attempt claimed", self.document_id, self.run)
        return True, None

    def _written_event(
        self,
        event_id: int,
        owner_id: uuid.UUID,
        event_type: EventType,
        stage: ProcessingStage,
        progress: int,
        message: str,
        details: dict[str, Any],
        created_at: datetime,
    ) -> DocumentEvent:
        """The event row a Core statement inserted, as `announce` and the heartbeat take it (no query back)."""
        # The Core statements write progress and completion; failures go through the ORM (`_fail`).
        status = DocumentStatus.COMPLETED if event_type == EventType.COMPLETED else DocumentStatus.PROCESSING
        return DocumentEvent(
            id=event_id, document_id=self.document_id, owner_id=owner_id, run=self.run, type=event_type.value,
            status=status.value, stage=str(stage), progress=progress, message=message, error_code=None,
            details=details, created_at=created_at,
        )  # fmt: skip

    def _committed(self, event: DocumentEvent, *, status_changed: bool, webhook: bool = False) -> None:
        """After the commit of a Core statement that wrote `event`: what `_transaction` and the session's
        after-commit callbacks do for the ORM path, in the same order."""
        final = event.type in FINAL_EVENT_TYPES
        announce(event)
        self.heartbeat.saw(event_message(event), event.owner_id, final=final)
        if final and webhook:
            self._send_webhook(event)
        if status_changed and self.batch_id is not None:
            batch_service.publish_progress(self.session_factory, self.batch_id, event.owner_id, self.document_id)

    def _claim_with_orm(self) -> Outcome | None:
        with self._transaction() as session:
            document, skipped = self._lock_run(session)
            if skipped is not None:
                return skipped
            assert document is not None

            # One read of the run's attempts: those still marked running belong to deliveries whose
            # worker died mid-way.
            attempts = list(
                session.scalars(
                    select(ProcessingAttempt).where(
                        ProcessingAttempt.document_id == document.id, ProcessingAttempt.run == self.run
                    )
                )
            )
            now = datetime.now(UTC)
            for attempt in attempts:
                if attempt.outcome == "running":
                    attempt.outcome = "lost"
                    attempt.finished_at = now
            previous = max((attempt.attempt_number for attempt in attempts), default=None)
            lost_total = sum(1 for attempt in attempts if attempt.outcome == "lost")
            document.attempts = (previous or 0) + 1
            if lost_total >= self.settings.MAX_PROCESSING_ATTEMPTS:
                self._mark_failed(
                    session,
                    document,
                    "WORKER_LOST",
                    f"Processing was interrupted {lost_total} times (the worker stopped or crashed); "
                    "the file may be too heavy to process.",
                )
                return Outcome("failed", "WORKER_LOST")
            attempt = ProcessingAttempt(
                document_id=document.id,
                run=self.run,
                attempt_number=document.attempts,
                task_id=self.task_id,
                worker=self.worker,
            )
            session.add(attempt)
            session.flush()
            self.attempt_id = attempt.id
            document.processing_started_at = document.processing_started_at or now
            document.task_id = self.task_id
            self._loaded = document
            if document.status == DocumentStatus.PROCESSING and self._has_parts(session):
                # The merge of a fanned-out run: its progress carries on from the parts' pages.
                return None
            document.status = DocumentStatus.PROCESSING
            self._status_changed = True
            document.stage = ProcessingStage.READING
            document.progress = STAGE_PROGRESS[ProcessingStage.READING]
            self._event(session, EventType.PROCESSING, ProcessingStage.READING, document.progress, "Processing started")
        logger.info("document %s run %s attempt claimed", self.document_id, self.run)
        return None

    def _read_and_extract(self) -> ExtractionResult | None:
        """The extraction; None when the pages were handed to part tasks that will queue this run again."""
        # The local copy lives only as long as the extractors need it.
        with self._read() as ctx:
            pages = self._pages_to_fan_out(ctx)
            if pages is None:
                return self._extract(ctx)
            spans = self._fan_out(pages)
            if spans is None:
                return None
            self._set_stage(ProcessingStage.EXTRACTING, EXTRACT_SPAN[1], {"merging_parts": len(spans)})
            self._merged_parts = True
            return self._with_upload_warnings(pdf_extractor.merge_page_spans(ctx, spans))

    def _pages_to_fan_out(self, ctx: ExtractionContext) -> int | None:
        """The page count of a PDF worth extracting in parallel parts (long, with pages to OCR), else None."""
        threshold = self.settings.PAGE_FANOUT_THRESHOLD
        if threshold <= 0 or ctx.file_type != "pdf":
            return None
        census = pdf_extractor.page_census(ctx, sample_above=threshold)
        if census is None or census.pages <= threshold:
            return None
        if census.sampled_without_text == 0 and not self.settings.PAGE_FANOUT_TEXT_PDFS:
            return None
        return census.pages

    def _fan_out(self, pages: int) -> list[pdf_extractor.PageSpan] | None:
        """The parts' extractions when all are stored; otherwise queue the parts not done and return None.

        The part rows are made once per run, so a redelivery of this task (or the recovery sweep) re-queues
        only what is missing; the part that completes the set queues this run again to merge."""
        chunk = max(self.settings.PAGE_FANOUT_CHUNK, 1)
        with self._transaction() as session:
            document = self._load(session, for_update=True)
            if document.current_run != self.run:
                raise StepFailed("STALE_RUN", "A newer run replaced this one.")
            if document.status in (DocumentStatus.COMPLETED, DocumentStatus.FAILED):
                # A twin delivery of the merge ended the run after this one was claimed, and dropped the
                # parts' spans with it: nothing is left to merge.
                raise RunEnded(f"run {self.run} already {document.status}")
            parts = self._parts(session)
            if not parts:
                for first in range(1, pages + 1, chunk):
                    last = min(first + chunk - 1, pages)
                    session.add(
                        DocumentPart(document_id=self.document_id, run=self.run, first_page=first, last_page=last)
                    )
                session.flush()
                parts = self._parts(session)
            waiting = [part.first_page for part in parts if part.status != "done"]
            if not waiting:
                return [pdf_extractor.PageSpan.model_validate(part.span) for part in parts]
            self._close_attempt(session, "fanned_out")
            progress = STAGE_PROGRESS[ProcessingStage.EXTRACTING]
            document.stage = ProcessingStage.EXTRACTING
            document.progress = max(document.progress, progress)
            self._event(
                session, EventType.PROCESSING, ProcessingStage.EXTRACTING, document.progress,
                f"Extracting {pages} pages in {len(parts)} parts",
                details={"parts": len(parts), "total_pages": pages},
            )  # fmt: skip
        for first in waiting:
            enqueue_part(str(self.document_id), self.run, first)
        logger.info("document %s run %s: %d of %d parts queued", self.document_id, self.run, len(waiting), len(parts))
        return None

    def _has_parts(self, session: Session) -> bool:
        return (
            session.scalar(
                select(DocumentPart.id)
                .where(DocumentPart.document_id == self.document_id, DocumentPart.run == self.run)
                .limit(1)
            )
            is not None
        )

    def _parts(self, session: Session) -> list[DocumentPart]:
        return list(
            session.scalars(
                select(DocumentPart)
                .where(DocumentPart.document_id == self.document_id, DocumentPart.run == self.run)
                .order_by(DocumentPart.first_page)
            )
        )

    @contextmanager
    def _read(self) -> Iterator[ExtractionContext]:
        """The extraction context on a local path; with S3 a temp copy, removed however the block
        ends (extraction error, soft time limit)."""
        document = self._loaded
        if document is None:  # a page part's delivery: its claim did not keep the row
            with self.session_factory() as session:
                document = self._loaded = self._load(session)
        self.file_type = document.file_type
        stored_name = document.stored_name
        password = decrypt_secret(document.encrypted_password) if document.encrypted_password else None
        ctx = ExtractionContext(
            path=Path(stored_name),
            mime_type=document.mime_type,
            file_type=document.file_type,  # type: ignore[arg-type]
            size_bytes=document.size_bytes,
            sha256=document.sha256,
            password=password,
            progress=self._on_extract_progress,
            max_pages=self.settings.MAX_PDF_PAGES,
            max_cells=self.settings.MAX_SPREADSHEET_CELLS,
            max_image_pixels=self.settings.MAX_IMAGE_PIXELS,
            max_sheet_grid_cells=self.settings.MAX_SHEET_GRID_CELLS,
            archive_limits=archive_limits(self.settings),
            ocr_languages=self.settings.OCR_LANGUAGES,
            ocr_enabled=self.settings.OCR_ENABLED,
            ocr_dpi=self.settings.OCR_DPI,
        )
        self._upload_warnings = list(document.upload_warnings or [])
        with ExitStack() as local_files:
            try:
                local_path = local_files.enter_context(get_storage().open_local(stored_name))
            except StoredFileMissing:
                raise StepFailed("FILE_MISSING", "The stored file is missing; upload it again.") from None
            # The context is frozen: the local copy's path makes a new one.
            yield replace(ctx, path=local_path)

    def _extract(self, ctx: ExtractionContext) -> ExtractionResult:
        self._set_stage(ProcessingStage.EXTRACTING, STAGE_PROGRESS[ProcessingStage.EXTRACTING])
        return self._with_upload_warnings(extract_content(ctx))

    def _with_upload_warnings(self, result: ExtractionResult) -> ExtractionResult:
        for warning in self._upload_warnings:
            result.warn(warning["code"], warning["message"])
        return result

    def _analyze(self, result: ExtractionResult) -> None:
        self._set_stage(ProcessingStage.ANALYZING, STAGE_PROGRESS[ProcessingStage.ANALYZING])
        analyze_content(result)

    def _report(self, result: ExtractionResult) -> dict[str, Any]:
        self._set_stage(ProcessingStage.REPORTING, STAGE_PROGRESS[ProcessingStage.REPORTING])
        if self._loaded is not None:
            # A document deleted meanwhile still fails DOCUMENT_DELETED: `_finish` loads it for update.
            return self._build_report(self._loaded, result)
        with self.session_factory() as session:
            return self._build_report(self._load(session), result)

    def _build_report(self, document: _Upload, result: ExtractionResult) -> dict[str, Any]:
        return build_report(
            result, filename=document.original_filename, uploaded_at=document.created_at, version=self.run
        )

    def _finish(self, result: _Serialised, report: dict[str, Any], started: float) -> bool:
        """Store the run's one extraction and report; False when a twin delivery already completed the run."""
        if self._postgres and self.owner_id is not None:
            stored = self._finish_in_one_statement(result, report)
        else:
            stored = self._finish_with_orm(result, report)
        if stored:
            logger.info(
                "document %s run %s completed in %.0f ms",
                self.document_id,
                self.run,
                (time.perf_counter() - started) * 1000,
            )
        return stored

    def _finish_in_one_statement(self, result: _Serialised, report: dict[str, Any]) -> bool:
        """`_FINISH`: one round trip and one commit instead of a dozen statements through the ORM, and the
        webhook target read with it (the lookup cost a session of its own per document, webhook or not)."""
        now = datetime.now(UTC)
        params = {
            "document_id": self.document_id,
            "run": self.run,
            "attempt_id": self.attempt_id,
            "extraction_id": new_id(),
            "report_id": new_id(),
            "schema_version": result.schema_version,
            "data": result.data,
            "report_schema_version": report["schema_version"],
            "title": report["title"][:300],
            "content": report,
            "completed": DocumentStatus.COMPLETED.value,
            "done": ProcessingStage.DONE.value,
            "event_type": EventType.COMPLETED.value,
            "message": "Processing completed",
            "now": now,
        }
        with self._connection() as connection:
            row = connection.execute(_FINISH, params).first()
            if row is None:
                # Nothing written: the run is no longer this delivery's to finish (a run never leaves
                # `completed`, and only those three things stop the statement); the row says which.
                document = connection.execute(
                    select(Document.current_run).where(Document.id == self.document_id)
                ).first()
                if document is None:
                    raise StepFailed("DOCUMENT_DELETED", "The document was deleted during processing.")
                if document.current_run != self.run:
                    raise StepFailed("STALE_RUN", "A newer run replaced this one.")
                # Two deliveries of the merge (a part redelivered after queueing it): the first one wins.
                self._close_attempt(connection, "duplicate")
                return False
        event = self._written_event(
            row.event_id, row.owner_id, EventType.COMPLETED, ProcessingStage.DONE, 100, "Processing completed",
            {"processing_ms": row.processing_ms}, now,
        )  # fmt: skip
        # No target (neither the upload's callback_url nor the owner's webhook_url): nothing to record.
        self._committed(event, status_changed=True, webhook=bool(row.callback_url or row.webhook_url))
        return True

    def _finish_with_orm(self, result: _Serialised, report: dict[str, Any]) -> bool:
        with self._transaction() as session:
            document = self._load(session, for_update=True)
            if document.current_run != self.run:
                raise StepFailed("STALE_RUN", "A newer run replaced this one.")
            if document.status == DocumentStatus.COMPLETED:
                # Two deliveries of the merge (a part redelivered after queueing it): the first one wins.
                self._close_attempt(session, "duplicate")
                return False
            data = json_bytes(session, result.data)
            record = session.scalar(
                select(ExtractionRecord).where(
                    ExtractionRecord.document_id == document.id, ExtractionRecord.run == self.run
                )
            )
            if record is None:
                session.add(
                    ExtractionRecord(
                        document_id=document.id, run=self.run, schema_version=result.schema_version, data=data
                    )
                )
            else:  # a redelivered task that got this far before: replace, never duplicate
                record.data = data
                record.schema_version = result.schema_version
            existing_report = session.scalar(
                select(Report).where(Report.document_id == document.id, Report.version == self.run)
            )
            if existing_report is None:
                session.add(
                    Report(
                        document_id=document.id,
                        version=self.run,
                        schema_version=report["schema_version"],
                        title=report["title"][:300],
                        content=report,
                    )
                )
            else:
                existing_report.content = report
                existing_report.title = report["title"][:300]
            if self._merged_parts or self.run > 1:  # a reprocess may leave an earlier run's parts
                self._drop_part_spans(session)
            now = datetime.now(UTC)
            document.status = DocumentStatus.COMPLETED
            self._status_changed = True
            document.stage = ProcessingStage.DONE
            document.progress = 100
            document.error_code = None
            document.error_message = None
            document.completed_at = now
            started_at = document.processing_started_at or now
            document.processing_ms = max(int((now - started_at).total_seconds() * 1000), 0)
            self._close_attempt(session, "completed")
            self._event(
                session, EventType.COMPLETED, ProcessingStage.DONE, 100, "Processing completed",
                status=DocumentStatus.COMPLETED, details={"processing_ms": document.processing_ms},
            )  # fmt: skip
        return True

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """A transaction that may record the run's final event. Once it has committed, the webhook of
        that event is sent as a step of its own; a transaction that rolls back sends nothing."""
        self._final_event = None
        self._status_changed = False
        with self.session_factory.begin() as session:
            yield session
        event, self._final_event = self._final_event, None
        if event is not None:
            self._send_webhook(event)
        if self._status_changed and self.batch_id is not None and self.owner_id is not None:
            batch_service.publish_progress(self.session_factory, self.batch_id, self.owner_id, self.document_id)
        self._status_changed = False

    def _send_webhook(self, event: DocumentEvent) -> None:
        # Never raises: the outcome is committed whatever happens to its webhook.
        on_final_event({**event_message(event), "owner_id": str(event.owner_id)})

    # --- failure and bookkeeping ---------------------------------------------------------
    def _fail(self, error_code: str, message: str) -> None:
        with self._transaction() as session:
            document = session.scalar(select(Document).where(Document.id == self.document_id).with_for_update())
            if document is None or document.current_run != self.run:
                return
            if document.status in (DocumentStatus.COMPLETED, DocumentStatus.FAILED):
                return  # e.g. a second part of a fanned-out run failing on the same file
            self.owner_id = document.owner_id
            self.batch_id = document.batch_id
            self._mark_failed(session, document, error_code, message)
            self._close_attempt(session, "failed", error_code, message)
        logger.warning("document %s run %s failed: %s", self.document_id, self.run, error_code)

    def fail_unexpected(self, error_code: str, message: str) -> None:
        self._fail(error_code, message)

    def close_attempt_for_retry(self, message: str) -> None:
        with self.session_factory.begin() as session:
            self._close_attempt(session, "retry", "TRANSIENT_ERROR", message)

    def _drop_part_spans(self, session: Session) -> None:
        """Once a run has ended, its parts' extractions are in the one stored result (or of no use): the
        rows stay as the record of who ran which pages, the spans (a second copy of the text) go."""
        session.execute(
            update(DocumentPart)
            .where(
                DocumentPart.document_id == self.document_id,
                DocumentPart.run <= self.run,
                DocumentPart.span.is_not(None),
            )
            .values(span=null())
            .execution_options(synchronize_session=False)
        )

    def _mark_failed(self, session: Session, document: Document, error_code: str, message: str) -> None:
        self._drop_part_spans(session)
        now = datetime.now(UTC)
        document.status = DocumentStatus.FAILED
        self._status_changed = True
        document.error_code = error_code
        document.error_message = message[:2000]
        document.completed_at = now
        started_at = document.processing_started_at
        document.processing_ms = int((now - started_at).total_seconds() * 1000) if started_at else None
        self._event(
            session, EventType.FAILED, document.stage, document.progress, message[:2000],
            status=DocumentStatus.FAILED, error_code=error_code,
        )  # fmt: skip

    def _event(
        self,
        session: Session,
        event_type: str,
        stage: str,
        progress: int,
        message: str,
        *,
        status: str = DocumentStatus.PROCESSING,
        error_code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        if self.owner_id is None:
            return
        event = record_event(
            session, document_id=self.document_id, owner_id=self.owner_id, run=self.run, event_type=event_type,
            status=status, stage=stage, progress=progress, message=message, error_code=error_code, details=details,
        )  # fmt: skip
        if event_type in FINAL_EVENT_TYPES:
            self._final_event = event
        owner_id, final = self.owner_id, event_type in FINAL_EVENT_TYPES
        on_commit(session, lambda: self.heartbeat.saw(event_message(event), owner_id, final=final))

    def _heartbeat_fields(self, message: dict[str, Any]) -> dict[str, Any]:
        """What a heartbeat repeats of the last event: all of it (one task writes this run's events)."""
        return message

    def _close_attempt(
        self, session: Session | Connection, outcome: str, error_code: str | None = None, message: str | None = None
    ) -> None:
        if self.attempt_id is None:
            return
        session.execute(
            update(ProcessingAttempt)
            .where(ProcessingAttempt.id == self.attempt_id)
            .values(outcome=outcome, error_code=error_code, error_message=message, finished_at=datetime.now(UTC))
            # The claim's session held the attempt, not this one: no object here to synchronise (~1 ms).
            .execution_options(synchronize_session=False)
        )

    def _load(self, session: Session, *, for_update: bool = False) -> Document:
        query = select(Document).where(Document.id == self.document_id)
        if for_update:
            query = query.with_for_update()
        document = session.scalar(query)
        if document is None:
            raise StepFailed("DOCUMENT_DELETED", "The document was deleted during processing.")
        return document

    def _set_stage(self, stage: ProcessingStage, progress: int, details: dict[str, Any] | None = None) -> None:
        message = STAGE_MESSAGES.get(stage, stage)
        if self.owner_id is not None and self._postgres:
            self._set_stage_in_one_statement(stage, progress, message, details or {})
        else:
            with self.session_factory.begin() as session:
                updated = session.execute(
                    update(Document)
                    .where(
                        Document.id == self.document_id,
                        Document.current_run == self.run,
                        # a twin delivery that already ended the run keeps its final stage and progress
                        Document.status == DocumentStatus.PROCESSING,
                    )
                    .values(stage=stage, progress=progress, updated_at=datetime.now(UTC))
                    # No ORM object of this session holds the row: nothing to synchronise.
                    .execution_options(synchronize_session=False)
                )
                if updated.rowcount:  # type: ignore[attr-defined]
                    self._event(session, EventType.PROCESSING, stage, progress, message, details=details)
        self._last_progress_write = time.monotonic()

    def _set_stage_in_one_statement(
        self, stage: ProcessingStage, progress: int, message: str, details: dict[str, Any]
    ) -> None:
        """The stage, progress and their event in one autocommitted statement: one round trip instead of
        five (pool check, BEGIN, UPDATE, INSERT, COMMIT) and no ORM unit of work. A document has four or
        more stage changes, and on small documents they were a third of the worker's time (BENCHMARKS,
        issue 18 pipeline overhead). Same rule as the ORM path: no row, no event."""
        assert self.owner_id is not None
        now = datetime.now(UTC)
        with self._connection() as connection:
            event_id = connection.execute(
                _STAGE_AND_EVENT,
                {
                    "document_id": self.document_id,
                    "run": self.run,
                    "processing": DocumentStatus.PROCESSING.value,
                    "event_type": EventType.PROCESSING.value,
                    "stage": str(stage),
                    "progress": progress,
                    "message": message,
                    "details": details,
                    "now": now,
                },
            ).scalar()
        if event_id is None:
            return
        self._committed(
            self._written_event(event_id, self.owner_id, EventType.PROCESSING, stage, progress, message, details, now),
            status_changed=False,
        )

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """The autocommit connection of the run's single-statement writes (stage changes, the final store).

        Every checkout from the pool pings the server first (pool_pre_ping), a round trip as long as the
        statement's own; a run makes five or more of these writes within milliseconds of each other, so one
        connection serves them while it was used less than CONNECTION_REUSE_S ago. An older one goes back
        to the pool and the next write takes a pinged one: a server restarted during a long extraction costs
        nothing. Within the window a dead connection fails the statement before the server ran it (nothing
        committed), which is a transient error the task retries, like a database lost in mid-statement.
        One that raised goes back to the pool (which resets or discards it)."""
        held = self._held_connection
        if held is not None and time.monotonic() - self._held_used_at > CONNECTION_REUSE_S:
            self._release_connection()
            held = None
        if held is None:
            held = self._held_connection = _autocommit(self.session_factory.kw["bind"]).connect()
        try:
            yield held
        except BaseException:
            self._release_connection()
            raise
        self._held_used_at = time.monotonic()

    def _release_connection(self) -> None:
        held, self._held_connection = self._held_connection, None
        if held is not None:
            held.close()

    def _on_extract_progress(self, current: int, total: int, unit: str) -> None:
        now = time.monotonic()
        if current < total and now - self._last_progress_write < PROGRESS_WRITE_INTERVAL_S:
            return
        low, high = EXTRACT_SPAN
        progress = low + int((high - low) * (current / max(total, 1)))
        stage = ProcessingStage.OCR if unit == "ocr" else ProcessingStage.EXTRACTING
        noun = {"sheet": "sheet", "byte": "byte"}.get(unit, "page")  # "ocr" and "page" count pages
        self._set_stage(stage, progress, {f"current_{noun}": current, f"total_{noun}s": total})
        logger.debug("document %s %s %s/%s", self.document_id, unit, current, total)
