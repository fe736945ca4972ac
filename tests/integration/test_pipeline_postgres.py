"""The processing pipeline in-process on real PostgreSQL: idempotent, bounded attempts, stale runs."""

from __future__ import annotations

import hashlib
import itertools
import shutil
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from fastapi_app.extractors.base import SCHEMA_VERSION
from tests.support.corpus import corpus_path
from tests.support.documents import small_text_pdf

pytestmark = pytest.mark.integration


@pytest.fixture
def make_document(postgres_app_env: str) -> Iterator:  # type: ignore[type-arg]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.files.storage import get_storage
    from fastapi_app.models import Document, User

    created: list[uuid.UUID] = []

    def _make(
        content: bytes | None = None,
        source: str | None = None,
        mime: str = "application/pdf",
        file_type: str = "pdf",
        suffix: str = ".pdf",
    ) -> uuid.UUID:
        storage = get_storage()
        stored_name = storage.new_stored_name(suffix)
        target = storage.path_for(stored_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source:
            shutil.copyfile(corpus_path(source), target)
        else:
            target.write_bytes(content or small_text_pdf())
        data = target.read_bytes()
        with sync_session_factory().begin() as session:
            user = User(
                username=f"pipe_{uuid.uuid4().hex[:8]}",
                email=f"{uuid.uuid4().hex[:8]}@example.com",
                hashed_password="x",
            )
            session.add(user)
            session.flush()
            document = Document(
                owner_id=user.id,
                original_filename=f"invoice{suffix}",
                stored_name=stored_name,
                file_type=file_type,
                mime_type=mime,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
            session.add(document)
            session.flush()
            created.append(document.id)
            return document.id

    yield _make


def _counts(document_id: uuid.UUID) -> tuple[int, int]:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import ExtractionRecord, Report

    with sync_session_factory()() as session:
        extractions = session.scalar(
            select(func.count()).select_from(ExtractionRecord).where(ExtractionRecord.document_id == document_id)
        )
        reports = session.scalar(select(func.count()).select_from(Report).where(Report.document_id == document_id))
    return int(extractions or 0), int(reports or 0)


def _document(document_id: uuid.UUID):  # type: ignore[no-untyped-def]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import Document

    with sync_session_factory()() as session:
        return session.get(Document, document_id)


def test_completes_and_a_second_delivery_changes_nothing(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    first = DocumentPipeline(str(document_id), 1).execute()
    assert first.status == "completed"
    document = _document(document_id)
    assert (document.status, document.stage, document.progress) == ("completed", "done", 100)
    assert document.attempts == 1 and document.processing_ms is not None
    assert _counts(document_id) == (1, 1)

    again = DocumentPipeline(str(document_id), 1).execute()
    assert again.status == "skipped" and "already completed" in again.detail
    assert _counts(document_id) == (1, 1)


def test_redelivery_after_a_crash_mid_run_does_not_duplicate(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import Document, DocumentStatus, ProcessingAttempt
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    assert DocumentPipeline(str(document_id), 1).execute().status == "completed"
    # The worker died after committing but before acknowledging: the broker redelivers and the
    # row looks as if it were still in flight.
    with sync_session_factory().begin() as session:
        document = session.get(Document, document_id)
        document.status = DocumentStatus.PROCESSING
        session.add(ProcessingAttempt(document_id=document_id, run=1, attempt_number=2, outcome="running"))
    assert DocumentPipeline(str(document_id), 1).execute().status == "completed"
    assert _counts(document_id) == (1, 1)
    assert _document(document_id).attempts == 3


def test_a_file_that_kills_workers_fails_after_three_attempts(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import ProcessingAttempt
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    with sync_session_factory().begin() as session:
        for number in (1, 2, 3):
            session.add(ProcessingAttempt(document_id=document_id, run=1, attempt_number=number, outcome="running"))
    outcome = DocumentPipeline(str(document_id), 1).execute()
    assert (outcome.status, outcome.detail) == ("failed", "WORKER_LOST")
    document = _document(document_id)
    assert (document.status, document.error_code) == ("failed", "WORKER_LOST")
    assert _counts(document_id) == (0, 0)


def test_two_lost_workers_still_allow_a_third_try(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import ProcessingAttempt
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    with sync_session_factory().begin() as session:
        for number in (1, 2):
            session.add(ProcessingAttempt(document_id=document_id, run=1, attempt_number=number, outcome="running"))
    assert DocumentPipeline(str(document_id), 1).execute().status == "completed"
    assert _document(document_id).attempts == 3


def test_a_task_for_an_old_run_does_nothing(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import Document
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    with sync_session_factory().begin() as session:
        session.get(Document, document_id).current_run = 2
    outcome = DocumentPipeline(str(document_id), 1).execute()
    assert outcome.status == "skipped" and "stale" in outcome.detail
    assert _document(document_id).status == "pending"


def test_corrupt_file_fails_with_code_and_no_results(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document(content=b"%PDF-1.4\n" + b"\x00" * 500)
    outcome = DocumentPipeline(str(document_id), 1).execute()
    assert (outcome.status, outcome.detail) == ("failed", "CORRUPT_FILE")
    document = _document(document_id)
    assert document.error_code == "CORRUPT_FILE" and document.error_message
    assert _counts(document_id) == (0, 0)


def test_missing_file_fails_with_file_missing(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.files.storage import get_storage
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    get_storage().delete(_document(document_id).stored_name)
    outcome = DocumentPipeline(str(document_id), 1).execute()
    assert (outcome.status, outcome.detail) == ("failed", "FILE_MISSING")


def test_deleted_document_is_skipped(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import Document
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    with sync_session_factory().begin() as session:
        session.delete(session.get(Document, document_id))
    assert DocumentPipeline(str(document_id), 1).execute().status == "skipped"


def test_metadata_of_a_real_pdf_is_stored(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import ExtractionRecord
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document(source="encrypted_openpassword.pdf")
    outcome = DocumentPipeline(str(document_id), 1).execute()
    assert (outcome.status, outcome.detail) == ("failed", "ENCRYPTED_FILE")

    document_id = make_document(source="metadata_japanese_title.pdf")
    assert DocumentPipeline(str(document_id), 1).execute().status == "completed"
    with sync_session_factory()() as session:
        record = session.scalar(select(ExtractionRecord).where(ExtractionRecord.document_id == document_id))
    assert record.data["pdf"]["page_count"] >= 1
    assert record.data["pdf"]["metadata"]["title"] == "Microsoft Word - トランスバース社買収電話会議英語Final.docx"
    assert record.data["schema_version"] == SCHEMA_VERSION
    assert record.data["extractor"] == {"name": "pdf", "version": "1.1"}


# --- issue 18: big files ---------------------------------------------------------------------------


def _sales_csv(rows: int) -> bytes:
    lines = ["date,거래처,품목,수량,금액"]
    lines += [f"2025-03-{1 + n % 28:02d},㈜한빛{n % 7},의자,{n % 9 + 1},{(n % 9 + 1) * 1500}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _attempt_outcomes(document_id: uuid.UUID) -> list[str]:
    """The document's attempts' outcomes, oldest first."""
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import ProcessingAttempt

    with sync_session_factory()() as session:
        return list(
            session.scalars(
                select(ProcessingAttempt.outcome)
                .where(ProcessingAttempt.document_id == document_id)
                .order_by(ProcessingAttempt.attempt_number)
            )
        )


def _events(document_id: uuid.UUID) -> list:  # type: ignore[type-arg]
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import DocumentEvent

    with sync_session_factory()() as session:
        return list(
            session.scalars(
                select(DocumentEvent).where(DocumentEvent.document_id == document_id).order_by(DocumentEvent.id)
            )
        )


def test_a_long_csv_parse_sends_progress_and_stores_the_extraction_as_before(  # type: ignore[no-untyped-def]
    make_document, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import fastapi_app.tasks.pipeline as pipeline_module
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.extractors.base import ExtractionContext
    from fastapi_app.extractors.engine import extract_document
    from fastapi_app.models import ExtractionRecord
    from fastapi_app.tasks.pipeline import DocumentPipeline

    content = _sales_csv(30_000)
    document_id = make_document(content, mime="text/csv", file_type="excel", suffix=".csv")
    monkeypatch.setattr(pipeline_module, "PROGRESS_WRITE_INTERVAL_S", 0.0)  # every offer becomes an event
    assert DocumentPipeline(str(document_id), 1).execute().status == "completed"

    reading = [e for e in _events(document_id) if "current_byte" in (e.details or {})]
    read = [e.details["current_byte"] for e in reading]
    assert len(reading) >= 3 and read == sorted(read)
    assert {e.details["total_bytes"] for e in reading} == {len(content)}
    assert [e.progress for e in reading] == sorted(e.progress for e in reading)

    # Stored from pydantic's JSON bytes (models.json_bytes): the same document the dict path stored.
    path = tmp_path / "sales.csv"
    path.write_bytes(content)
    ctx = ExtractionContext(path=path, mime_type="text/csv", file_type="excel", size_bytes=len(content), sha256="-")
    expected = extract_document(ctx).model_dump(mode="json")
    with sync_session_factory()() as session:
        stored = session.scalar(select(ExtractionRecord.data).where(ExtractionRecord.document_id == document_id))
    assert stored is not None
    for key in ("timings_ms", "sha256"):
        stored.pop(key, None)
        expected.pop(key, None)
    assert stored == expected
    assert stored["spreadsheet"]["sheets"][0]["row_count"] == 30_001


def test_heartbeats_repeat_the_last_event_while_a_step_runs_long(  # type: ignore[no-untyped-def]
    make_document, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    from functools import partial

    import fastapi_app.tasks.pipeline as pipeline_module
    from fastapi_app.tasks.heartbeat import Heartbeat
    from fastapi_app.tasks.pipeline import DocumentPipeline

    sent: list[dict] = []  # type: ignore[type-arg]
    monkeypatch.setattr(pipeline_module, "Heartbeat", partial(Heartbeat, 0.05, send=lambda m, owner: sent.append(m)))
    analyze = pipeline_module.analyze_content

    def slow_analysis(result):  # type: ignore[no-untyped-def]
        time.sleep(0.5)  # a step with nothing to count, as text analysis of a 300-page PDF
        analyze(result)

    monkeypatch.setattr(pipeline_module, "analyze_content", slow_analysis)
    document_id = make_document()
    assert DocumentPipeline(str(document_id), 1).execute().status == "completed"

    during = [m for m in sent if m["stage"] == "analyzing"]
    assert during and all(m["heartbeat"] is True and m["event_id"] is None for m in during)
    assert {(m["progress"], m["document_id"]) for m in during} == {(80, str(document_id))}
    assert not [m for m in sent if m["stage"] == "done"]  # nothing after the final event
    # Heartbeats are not stored: the timeline keeps one row per change.
    stored = [(e.stage, e.progress) for e in _events(document_id)]
    assert stored.count(("analyzing", 80)) == 1


# --- issue 18: the pipeline's own cost (Core statements on PostgreSQL) ------------------------------------


def test_a_redelivery_after_a_partial_store_keeps_one_extraction_and_report_with_the_new_data(  # type: ignore[no-untyped-def]
    make_document,
) -> None:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import ExtractionRecord, ProcessingAttempt, Report
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    # What an earlier delivery (an older build) left: the run's extraction and report stored, the document
    # still processing, its attempt still running.
    with sync_session_factory().begin() as session:
        session.add(ExtractionRecord(document_id=document_id, run=1, schema_version="0.1", data={"stale": True}))
        session.add(Report(document_id=document_id, version=1, schema_version="0.1", title="stale", content={}))
        session.add(ProcessingAttempt(document_id=document_id, run=1, attempt_number=1, outcome="running"))
    assert DocumentPipeline(str(document_id), 1).execute().status == "completed"
    assert _counts(document_id) == (1, 1)
    with sync_session_factory()() as session:
        record = session.scalar(select(ExtractionRecord).where(ExtractionRecord.document_id == document_id))
        report = session.scalar(select(Report).where(Report.document_id == document_id))
        attempts = list(
            session.scalars(
                select(ProcessingAttempt.outcome)
                .where(ProcessingAttempt.document_id == document_id)
                .order_by(ProcessingAttempt.attempt_number)
            )
        )
    assert record.schema_version == SCHEMA_VERSION and "stale" not in record.data
    assert record.data["pdf"]["page_count"] == 1
    assert report.title != "stale" and report.content["schema_version"] == report.schema_version
    assert attempts == ["lost", "completed"]
    assert _document(document_id).attempts == 2


def test_a_twin_delivery_that_finishes_second_writes_nothing(make_document) -> None:  # type: ignore[no-untyped-def]
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    # Both deliveries are claimed before either stores (the second takes the first for lost), then both run.
    first, second = DocumentPipeline(str(document_id), 1), DocumentPipeline(str(document_id), 1)
    assert first._claim() is None and second._claim() is None
    with first.heartbeat:
        assert first._execute_claimed().status == "completed"
    with second.heartbeat:
        outcome = second._execute_claimed()
    assert outcome.status == "skipped" and "already completed" in outcome.detail
    assert _counts(document_id) == (1, 1)
    events = _events(document_id)
    assert [event.type for event in events].count("document_completed") == 1
    document = _document(document_id)
    assert (document.status, document.progress, document.attempts) == ("completed", 100, 2)
    completed = events[-1]
    assert completed.type == "document_completed"
    assert completed.details == {"processing_ms": document.processing_ms}
    outcomes = _attempt_outcomes(document_id)
    # The first attempt was marked lost by the second claim, then completed the run.
    assert outcomes == ["completed", "duplicate"]


def test_events_are_stored_in_order_and_the_stage_commits_leave_pooled_connections_synchronous(  # type: ignore[no-untyped-def]
    make_document,
) -> None:
    from sqlalchemy import text

    from fastapi_app.db.session import get_sync_engine
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = make_document()
    assert DocumentPipeline(str(document_id), 1).execute().status == "completed"
    events = _events(document_id)
    assert [(event.stage, event.progress) for event in events] == [
        ("reading", 5),
        ("extracting", 10),
        ("extracting", 78),
        ("analyzing", 80),
        ("reporting", 90),
        ("done", 100),
    ]
    assert [event.type for event in events][-1] == "document_completed"
    assert all(earlier.created_at <= later.created_at for earlier, later in itertools.pairwise(events))
    # synchronous_commit is switched off for the claim and stage commits only (transaction-local): no
    # connection goes back to the pool with it off, so every other commit still waits for its WAL flush.
    engine = get_sync_engine()
    connections = [engine.connect() for _ in range(engine.pool.checkedin())]
    try:
        assert connections
        assert {connection.execute(text("SHOW synchronous_commit")).scalar() for connection in connections} == {"on"}
    finally:
        for connection in connections:
            connection.close()


def test_the_final_store_reads_the_webhook_target_and_records_one_delivery(  # type: ignore[no-untyped-def]
    make_document,
) -> None:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import Document, WebhookDelivery
    from fastapi_app.tasks.pipeline import DocumentPipeline

    with_target, without = make_document(), make_document()
    with sync_session_factory().begin() as session:
        session.get(Document, with_target).callback_url = "https://hooks.example.com/done"
    assert DocumentPipeline(str(with_target), 1).execute().status == "completed"
    assert DocumentPipeline(str(without), 1).execute().status == "completed"
    with sync_session_factory()() as session:
        deliveries = list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.document_id == with_target)))
        none = session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.document_id == without)
        )
    assert [(d.url, d.event_type, d.run) for d in deliveries] == [
        ("https://hooks.example.com/done", "document_completed", 1)
    ]
    assert deliveries[0].payload["status"] == "completed"
    assert none == 0
