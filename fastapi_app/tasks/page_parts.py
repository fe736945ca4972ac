"""One page range of a fanned-out PDF run (PAGE_FANOUT_THRESHOLD), extracted by a task of its own.

The document pipeline makes the part rows and queues one task per part (pipeline.py `_fan_out`). A part
task claims its row, extracts its pages, and stores the result in the row in one transaction; the part
that completes the set queues the document task again, which merges the stored parts into the run's
one extraction and report. Everything takes the document row's lock first, then the part's: the page
count of the progress events is summed under that lock, so it never goes back.

A delivery that finds its part `running` follows one whose worker died: it counts as lost, and
MAX_PROCESSING_ATTEMPTS lost deliveries of one part fail the document WORKER_LOST, as a whole-document
task does.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fastapi_app.core.config import Settings
from fastapi_app.core.vocabulary import EventType
from fastapi_app.extractors import pdf as pdf_extractor
from fastapi_app.extractors.base import ExtractionError
from fastapi_app.models import Document, DocumentPart, DocumentStatus, ProcessingStage
from fastapi_app.queue.dispatch import enqueue_processing
from fastapi_app.tasks.pipeline import (
    EXTRACT_SPAN,
    PROGRESS_WRITE_INTERVAL_S,
    DocumentPipeline,
    Outcome,
    StepFailed,
)

logger = logging.getLogger("fastapi_app.pipeline")

# Fields of a part's progress event that are summed over all parts under the document's lock.
_SUMMED_FIELDS = frozenset({"progress", "current_page", "total_pages"})


class PagePartPipeline(DocumentPipeline):
    def __init__(
        self,
        document_id: str,
        run: int,
        first_page: int,
        *,
        task_id: str | None = None,
        worker: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        # The pid tells apart the pool processes of one worker (tests assert parts ran in parallel).
        super().__init__(
            document_id, run, task_id=task_id, worker=f"{worker or 'worker'}:{os.getpid()}", settings=settings
        )
        self.first_page = first_page
        self.last_page = first_page
        self._ocr_seen = False

    def execute(self) -> Outcome:
        claimed = self._claim_part()
        if claimed is not None:
            return claimed
        try:
            with self.heartbeat, self._read() as ctx:
                self.file_type = ctx.file_type
                span = pdf_extractor.extract_page_span(ctx, self.first_page, self.last_page)
            return self._store(span)
        except (StepFailed, ExtractionError) as failure:
            error_code = failure.error_code or "PROCESSING_ERROR"
            self._fail(error_code, failure.message if isinstance(failure, StepFailed) else str(failure))
            return Outcome("failed", error_code)

    def _claim_part(self) -> Outcome | None:
        with self._transaction() as session:
            document, skipped = self._lock_run(session)
            if skipped is not None:
                return skipped
            assert document is not None
            part = self._part(session)
            if part is None:
                return Outcome("skipped", f"no part from page {self.first_page}")
            claimed: Outcome | None = None
            already_done = part.status == "done"
            # The delivery that stored it may have died before queueing the merge.
            merge_due = already_done and self._all_done(session)
            if not already_done:
                claimed = self._start_part(session, document, part)
                if claimed is None:
                    # Until its first page is done the part has sent nothing: its heartbeat says the stage goes on.
                    self.heartbeat.saw(self._started_message(document), document.owner_id)
        if already_done:
            if merge_due:
                enqueue_processing(str(self.document_id), self.run)
            return Outcome("skipped", f"pages {self.first_page}-{part.last_page} already done")
        if claimed is None:
            logger.info(
                "document %s run %s pages %s-%s claimed", self.document_id, self.run, self.first_page, self.last_page
            )
        return claimed

    def _start_part(self, session: Session, document: Document, part: DocumentPart) -> Outcome | None:
        if part.status == "running":
            part.lost += 1
        if part.lost >= self.settings.MAX_PROCESSING_ATTEMPTS:
            self._mark_failed(
                session,
                document,
                "WORKER_LOST",
                f"Processing pages {part.first_page}-{part.last_page} was interrupted {part.lost} times "
                "(the worker stopped or crashed); the file may be too heavy to process.",
            )
            return Outcome("failed", "WORKER_LOST")
        part.status = "running"
        part.attempts += 1
        part.worker = self.worker
        self.last_page = part.last_page
        return None

    def _store(self, span: pdf_extractor.PageSpan) -> Outcome:
        with self._transaction() as session:
            document = self._load(session, for_update=True)
            if document.current_run != self.run or document.status != DocumentStatus.PROCESSING:
                return Outcome("skipped", f"run {self.run} ended while pages {self.first_page}-{self.last_page} ran")
            part = self._part(session)
            if part is None:
                return Outcome("skipped", f"no part from page {self.first_page}")
            part.span = span.model_dump(mode="json")
            part.status = "done"
            part.pages_done = part.last_page - part.first_page + 1
            part.worker = self.worker
            part.finished_at = datetime.now(UTC)
            session.flush()
            # Under the document's lock exactly one part sees the set complete.
            complete = self._all_done(session)
        if complete:
            enqueue_processing(str(self.document_id), self.run)
        return Outcome("completed", f"pages {self.first_page}-{self.last_page}")

    def close_attempt_for_retry(self, message: str) -> None:
        # A transient error is not a lost worker: the retry finds the part pending, not running.
        with self.session_factory.begin() as session:
            part = self._part(session)
            if part is not None and part.status == "running":
                part.status = "pending"

    def _on_extract_progress(self, current: int, total: int, unit: str) -> None:
        if unit == "ocr":
            self._ocr_seen = True
            return
        done_here = current - self.first_page + 1
        size = self.last_page - self.first_page + 1
        now = time.monotonic()
        if done_here < size and now - self._last_progress_write < PROGRESS_WRITE_INTERVAL_S:
            return
        with self._transaction() as session:
            document = session.scalar(select(Document).where(Document.id == self.document_id).with_for_update())
            if document is None or document.current_run != self.run or document.status != DocumentStatus.PROCESSING:
                return
            part = self._part(session)
            if part is None:
                return
            part.pages_done = max(part.pages_done, done_here)
            session.flush()
            done, pages = session.execute(
                select(
                    func.sum(DocumentPart.pages_done),
                    func.sum(DocumentPart.last_page - DocumentPart.first_page + 1),
                ).where(DocumentPart.document_id == self.document_id, DocumentPart.run == self.run)
            ).one()
            low, high = EXTRACT_SPAN
            progress = max(document.progress, low + int((high - low) * (done / max(pages, 1))))
            stage = ProcessingStage.OCR if self._ocr_seen else ProcessingStage.EXTRACTING
            document.stage = stage
            document.progress = progress
            document.updated_at = datetime.now(UTC)
            self._event(
                session, EventType.PROCESSING, stage, progress, f"Page {done} of {pages}",
                details={"current_page": int(done), "total_pages": int(pages)},
            )  # fmt: skip
        self._last_progress_write = now

    def _started_message(self, document: Document) -> dict[str, Any]:
        return {
            "type": EventType.PROCESSING,
            "document_id": str(self.document_id),
            "run": self.run,
            "status": DocumentStatus.PROCESSING,
            "stage": document.stage,
            "message": f"Pages {self.first_page}-{self.last_page}",
            "error_code": None,
        }

    def _heartbeat_fields(self, message: dict[str, Any]) -> dict[str, Any]:
        """A part's heartbeat says only that its stage goes on: its last progress and page count may be
        behind another part's newer event, and the run's progress never goes back."""
        return {key: value for key, value in message.items() if key not in _SUMMED_FIELDS}

    def _part(self, session: Session) -> DocumentPart | None:
        return session.scalar(
            select(DocumentPart)
            .where(
                DocumentPart.document_id == self.document_id,
                DocumentPart.run == self.run,
                DocumentPart.first_page == self.first_page,
            )
            .with_for_update()
        )

    def _all_done(self, session: Session) -> bool:
        waiting = session.scalar(
            select(func.count())
            .select_from(DocumentPart)
            .where(
                DocumentPart.document_id == self.document_id,
                DocumentPart.run == self.run,
                DocumentPart.status != "done",
            )
        )
        return not waiting
