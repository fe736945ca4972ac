"""The processing pipeline in-process on real PostgreSQL: idempotent, bounded attempts, stale runs."""

from __future__ import annotations

import hashlib
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
