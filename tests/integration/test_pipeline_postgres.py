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

    def _make(content: bytes | None = None, source: str | None = None, mime: str = "application/pdf") -> uuid.UUID:
        storage = get_storage()
        stored_name = storage.new_stored_name(".pdf")
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
                original_filename="invoice.pdf",
                stored_name=stored_name,
                file_type="pdf",
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
