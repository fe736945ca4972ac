"""Enqueueing, kept apart from the task code so the API never imports extractors."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

PROCESS_TASK = "documents.process"
PART_TASK = "documents.process_part"


def task_id_for(document_id: str, run: int) -> str:
    return f"doc-{document_id}-run-{run}"


def enqueue_processing(document_id: str, run: int, *, request_id: str | None = None) -> None:
    from fastapi_app.queue.app import celery_app

    celery_app.send_task(
        PROCESS_TASK,
        args=[document_id, run],
        kwargs={"request_id": request_id},
        task_id=task_id_for(document_id, run),
    )
    logger.info("queued document %s run %s", document_id, run)


def enqueue_part(document_id: str, run: int, first_page: int) -> None:
    """One page range of a fanned-out PDF (tasks/page_parts.py); the part that completes the set queues the merge."""
    from fastapi_app.queue.app import celery_app

    celery_app.send_task(
        PART_TASK,
        args=[document_id, run, first_page],
        task_id=f"{task_id_for(document_id, run)}-pages-{first_page}",
    )
