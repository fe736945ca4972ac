"""Page fan-out (issue 18) in-process on real PostgreSQL: parts stored once, one merge wins, lost parts bounded."""

from __future__ import annotations

import io
import threading
import uuid

import pytest
from sqlalchemy import func, select

from tests.integration.test_pipeline_postgres import _attempt_outcomes, _counts, _document, make_document  # noqa: F401
from tests.support.documents import korean_invoice_pdf, small_text_pdf

pytestmark = pytest.mark.integration


def _two_page_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in (korean_invoice_pdf(), small_text_pdf()):
        writer.add_page(PdfReader(io.BytesIO(data)).pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _settings():  # type: ignore[no-untyped-def]
    from fastapi_app.core.config import get_settings

    # Text pages: the OCR a scan needs would only slow these tests, and the part bookkeeping is the same.
    return get_settings().model_copy(
        update={"PAGE_FANOUT_THRESHOLD": 1, "PAGE_FANOUT_CHUNK": 1, "PAGE_FANOUT_TEXT_PDFS": True}
    )


def _parts(document_id: uuid.UUID) -> list[tuple[int, str, int, int]]:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import DocumentPart

    with sync_session_factory()() as session:
        rows = session.execute(
            select(DocumentPart.first_page, DocumentPart.status, DocumentPart.attempts, DocumentPart.lost)
            .where(DocumentPart.document_id == document_id)
            .order_by(DocumentPart.first_page)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _spans_kept(document_id: uuid.UUID) -> int:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import DocumentPart

    with sync_session_factory()() as session:
        count = session.scalar(
            select(func.count())
            .select_from(DocumentPart)
            .where(DocumentPart.document_id == document_id, DocumentPart.span.is_not(None))
        )
    return int(count or 0)


def _completed_events(document_id: uuid.UUID) -> int:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import DocumentEvent

    with sync_session_factory()() as session:
        count = session.scalar(
            select(func.count())
            .select_from(DocumentEvent)
            .where(DocumentEvent.document_id == document_id, DocumentEvent.type == "document_completed")
        )
    return int(count or 0)


def test_parts_merge_into_one_extraction_even_when_two_merges_race(make_document) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from fastapi_app.tasks.page_parts import PagePartPipeline
    from fastapi_app.tasks.pipeline import DocumentPipeline

    settings = _settings()
    document_id = make_document(_two_page_pdf())
    assert DocumentPipeline(str(document_id), 1, settings=settings).execute().status == "fanned_out"
    assert _parts(document_id) == [(1, "pending", 0, 0), (2, "pending", 0, 0)]
    assert _counts(document_id) == (0, 0)

    assert PagePartPipeline(str(document_id), 1, 2, settings=settings).execute().status == "completed"
    assert PagePartPipeline(str(document_id), 1, 1, settings=settings).execute().status == "completed"
    # A redelivered part changes nothing.
    assert PagePartPipeline(str(document_id), 1, 1, settings=settings).execute().status == "skipped"
    assert _parts(document_id) == [(1, "done", 1, 0), (2, "done", 1, 0)]
    assert _spans_kept(document_id) == 2

    # The last part queues the merge; a redelivery of a part may queue it again: both run at once.
    outcomes: list[str] = []

    def merge() -> None:
        outcomes.append(DocumentPipeline(str(document_id), 1, settings=settings).execute().status)

    threads = [threading.Thread(target=merge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["completed", "skipped"], outcomes
    assert _counts(document_id) == (1, 1)
    # Merged into the one stored result: the part rows stay as the record, their copies of the text go.
    assert _parts(document_id) == [(1, "done", 1, 0), (2, "done", 1, 0)]
    assert _spans_kept(document_id) == 0
    assert _completed_events(document_id) == 1

    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import ExtractionRecord

    with sync_session_factory()() as session:
        data = session.scalar(select(ExtractionRecord.data).where(ExtractionRecord.document_id == document_id))
    assert [page["number"] for page in data["pdf"]["pages"]] == [1, 2]
    assert data["text"].index("INV-2026-0315") < data["text"].index("42183017")
    assert data["pdf"]["tables"] and data["key_values"]
    document = _document(document_id)
    assert (document.status, document.progress) == ("completed", 100)


def test_a_merge_claimed_before_its_twin_completed_the_run_ends_skipped(make_document) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The interleaving the race above can take: the twin completes the run (dropping the parts' spans)
    between this delivery's claim and its read of the parts."""
    from fastapi_app.tasks.page_parts import PagePartPipeline
    from fastapi_app.tasks.pipeline import DocumentPipeline

    settings = _settings()
    document_id = make_document(_two_page_pdf())
    assert DocumentPipeline(str(document_id), 1, settings=settings).execute().status == "fanned_out"
    for first_page in (1, 2):
        assert PagePartPipeline(str(document_id), 1, first_page, settings=settings).execute().status == "completed"

    late = DocumentPipeline(str(document_id), 1, settings=settings)
    assert late._claim() is None
    assert DocumentPipeline(str(document_id), 1, settings=settings).execute().status == "completed"
    with late.heartbeat:
        outcome = late._execute_claimed()
    assert (outcome.status, outcome.detail) == ("skipped", "run 1 already completed")
    assert _counts(document_id) == (1, 1)
    assert _completed_events(document_id) == 1
    assert (_document(document_id).status, _spans_kept(document_id)) == ("completed", 0)
    outcomes = _attempt_outcomes(document_id)
    # The fan-out's attempt, the late merge's (closed as a duplicate), the merge that completed the run.
    assert outcomes == ["fanned_out", "duplicate", "completed"]


def test_a_long_text_pdf_stays_in_one_task(make_document) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Its pages have a text layer: parts would cost more than they save (bench.page_fanout --pdf)."""
    from fastapi_app.tasks.pipeline import DocumentPipeline

    settings = _settings().model_copy(update={"PAGE_FANOUT_TEXT_PDFS": False})
    document_id = make_document(_two_page_pdf())
    assert DocumentPipeline(str(document_id), 1, settings=settings).execute().status == "completed"
    assert _parts(document_id) == []
    assert _counts(document_id) == (1, 1)
    assert _completed_events(document_id) == 1


def test_a_part_that_keeps_killing_workers_fails_the_document(make_document) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import DocumentPart
    from fastapi_app.tasks.page_parts import PagePartPipeline
    from fastapi_app.tasks.pipeline import DocumentPipeline

    settings = _settings()
    document_id = make_document(_two_page_pdf())
    assert DocumentPipeline(str(document_id), 1, settings=settings).execute().status == "fanned_out"
    # Three deliveries of part 2 died mid-way (the last left it running).
    with sync_session_factory().begin() as session:
        part = session.scalar(
            select(DocumentPart).where(DocumentPart.document_id == document_id, DocumentPart.first_page == 2)
        )
        part.status, part.attempts, part.lost = "running", 3, 2

    outcome = PagePartPipeline(str(document_id), 1, 2, settings=settings).execute()
    assert (outcome.status, outcome.detail) == ("failed", "WORKER_LOST")
    document = _document(document_id)
    assert (document.status, document.error_code) == ("failed", "WORKER_LOST")
    assert "pages 2-2" in document.error_message
    assert _spans_kept(document_id) == 0
    # The other part, and any merge, find the run over.
    assert PagePartPipeline(str(document_id), 1, 1, settings=settings).execute().status == "skipped"
    assert DocumentPipeline(str(document_id), 1, settings=settings).execute().status == "skipped"
    assert _counts(document_id) == (0, 0)
