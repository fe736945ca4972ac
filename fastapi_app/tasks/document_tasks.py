"""Celery tasks. They take ids, reload rows, and are safe to run twice."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from fastapi_app.core.config import get_settings
from fastapi_app.core.logging import request_id_var
from fastapi_app.core.metrics import record_processed
from fastapi_app.db.session import sync_session_factory
from fastapi_app.files.storage import StorageError, StoredFileMissing, sweep_abandoned_uploads
from fastapi_app.models import Document, DocumentStatus
from fastapi_app.queue.dispatch import PART_TASK, PROCESS_TASK, enqueue_processing
from fastapi_app.tasks.celery_app import celery_app
from fastapi_app.tasks.page_parts import PagePartPipeline
from fastapi_app.tasks.pipeline import DocumentPipeline

logger = logging.getLogger("fastapi_app.tasks")

MAX_TRANSIENT_RETRIES = 6


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # An unreachable object store is an outage, not a bad file (a missing object is FILE_MISSING).
    if isinstance(exc, StorageError) and not isinstance(exc, StoredFileMissing):
        return True
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError))


@celery_app.task(bind=True, name=PROCESS_TASK, max_retries=MAX_TRANSIENT_RETRIES)
def process_document(self: Any, document_id: str, run: int, request_id: str | None = None) -> dict[str, str]:
    # The upload's request id joins this worker's log lines to the API's access line.
    token = request_id_var.set(request_id or f"task-{self.request.id}")
    started = time.perf_counter()
    try:
        pipeline = DocumentPipeline(document_id, run, task_id=self.request.id, worker=self.request.hostname)
        outcome = _process(self, pipeline, document_id, run)
        _record_metrics(document_id, outcome["status"], time.perf_counter() - started, pipeline.file_type)
        return outcome
    finally:
        request_id_var.reset(token)


@celery_app.task(bind=True, name=PART_TASK, max_retries=MAX_TRANSIENT_RETRIES)
def process_document_part(self: Any, document_id: str, run: int, first_page: int) -> dict[str, str]:
    """Pages of a fanned-out PDF from `first_page` to the end of its part (tasks/page_parts.py)."""
    token = request_id_var.set(f"task-{self.request.id}")
    try:
        pipeline = PagePartPipeline(document_id, run, first_page, task_id=self.request.id, worker=self.request.hostname)
        return _process(self, pipeline, document_id, run)
    finally:
        request_id_var.reset(token)


def _record_metrics(document_id: str, status: str, seconds: float, file_type: str | None = None) -> None:
    # Only runs that ended count; skipped deliveries and retries (raised above) do not.
    if status not in ("completed", "failed"):
        return
    try:
        # The pipeline knows the type once it has read the row; only runs that failed before that
        # (e.g. WORKER_LOST at claim) cost a query.
        if file_type is None:
            with sync_session_factory()() as session:
                file_type = session.scalar(select(Document.file_type).where(Document.id == uuid.UUID(document_id)))
        record_processed(file_type, status, seconds)
    except Exception:  # metrics must never turn a finished run into a task error
        logger.warning("could not record metrics for document %s", document_id, exc_info=True)


def _process(self: Any, pipeline: DocumentPipeline, document_id: str, run: int) -> dict[str, str]:
    try:
        outcome = pipeline.execute()
    except SoftTimeLimitExceeded:
        pipeline.fail_unexpected("PROCESSING_TIMEOUT", "Processing took longer than the time limit.")
        return {"status": "failed", "detail": "PROCESSING_TIMEOUT"}
    except MemoryError:
        # The child's address-space limit (WORKER_MEMORY_LIMIT_MB) refused an allocation; what the
        # parse held is freed by now, so the failure can still be recorded. Retrying would only repeat it.
        logger.warning("document %s run %s: memory limit reached", document_id, run)
        pipeline.fail_unexpected("MEMORY_LIMIT", "Processing this file needed more memory than the worker allows.")
        return {"status": "failed", "detail": "MEMORY_LIMIT"}
    except Exception as exc:
        if _is_transient(exc):
            countdown = get_exponential_backoff_interval(
                factor=2, retries=self.request.retries, maximum=120, full_jitter=True
            )
            logger.warning(
                "document %s run %s: transient error (%s), retry %s in %ss",
                document_id,
                run,
                type(exc).__name__,
                self.request.retries + 1,
                countdown,
            )
            try:
                pipeline.close_attempt_for_retry(type(exc).__name__)
            except Exception:  # the database may be the thing that is down
                logger.debug("could not record the retry", exc_info=True)
            raise self.retry(exc=exc, countdown=countdown) from exc
        logger.exception("document %s run %s: unexpected error", document_id, run)
        pipeline.fail_unexpected(
            "PROCESSING_ERROR", "An unexpected error occurred while processing this file. It has been logged."
        )
        return {"status": "failed", "detail": "PROCESSING_ERROR"}
    logger.info("document %s run %s: %s %s", document_id, run, outcome.status, outcome.detail)
    return {"status": outcome.status, "detail": outcome.detail}


@celery_app.task(name="documents.recover_stale")
def recover_stale_documents() -> int:
    """Re-queue documents that a dead worker or a lost message left pending or processing, and remove
    upload temp files a dead API process left (UPLOAD_DIR is shared with the API on one host or mount)."""
    settings = get_settings()
    sweep_abandoned_uploads(settings)
    cutoff = datetime.now(UTC) - timedelta(minutes=settings.STALE_PROCESSING_MINUTES)
    with sync_session_factory()() as session:
        stale = session.execute(
            select(Document.id, Document.current_run).where(
                or_(
                    (Document.status == DocumentStatus.PENDING) & (Document.queued_at < cutoff),
                    (Document.status == DocumentStatus.PROCESSING) & (Document.updated_at < cutoff),
                )
            )
        ).all()
    for document_id, run in stale:
        enqueue_processing(str(document_id), run)
    if stale:
        logger.warning("re-queued %d stale documents", len(stale))
    return len(stale)
