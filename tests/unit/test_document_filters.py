"""The document filters are written once (services/document_filters.py): the documents list (Core on the
raw pool) and the batch summary (ORM) narrow the same documents for the same filter."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.conftest import migrated_sqlite_database


@pytest.fixture(scope="module")
def owner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[uuid.UUID, dict[str, uuid.UUID]]]:
    with migrated_sqlite_database(tmp_path_factory.mktemp("filters") / "app.sqlite3"):
        from fastapi_app.db.session import sync_session_factory
        from fastapi_app.models import Document, User

        with sync_session_factory()() as session:
            user = User(username=f"u{uuid.uuid4().hex[:8]}", email=f"{uuid.uuid4().hex[:8]}@x.io", hashed_password="x")
            session.add(user)
            session.flush()
            ids = {}
            for name, file_type, status, day in (
                ("100%_invoice.pdf", "pdf", "completed", 1),
                ("1000 invoice.pdf", "pdf", "failed", 2),
                ("ledger.xlsx", "excel", "completed", 3),
                ("receipt.png", "image", "pending", 4),
            ):
                document = Document(
                    owner_id=user.id, original_filename=name, stored_name=uuid.uuid4().hex, file_type=file_type,
                    mime_type="x/y", size_bytes=1, sha256="0" * 64, status=status,
                    created_at=datetime(2026, 3, day, 12, tzinfo=UTC),
                )  # fmt: skip
                session.add(document)
                session.flush()
                ids[name] = document.id
            session.commit()
            yield user.id, ids


CASES = [
    ({"status": "completed"}, {"100%_invoice.pdf", "ledger.xlsx"}),
    ({"file_type": "pdf"}, {"100%_invoice.pdf", "1000 invoice.pdf"}),
    ({"file_type": "pdf", "status": "failed"}, {"1000 invoice.pdf"}),
    ({"date_from": datetime(2026, 3, 2, tzinfo=UTC), "date_to": datetime(2026, 3, 3, 23, tzinfo=UTC)},
     {"1000 invoice.pdf", "ledger.xlsx"}),
    ({}, {"100%_invoice.pdf", "1000 invoice.pdf", "ledger.xlsx", "receipt.png"}),
]  # fmt: skip


@pytest.mark.parametrize(("narrowed", "expected"), CASES)
async def test_list_and_summary_narrow_alike(
    owner: tuple[uuid.UUID, dict[str, uuid.UUID]], narrowed: dict[str, object], expected: set[str]
) -> None:
    from fastapi_app.db.session import async_session_factory
    from fastapi_app.models import User
    from fastapi_app.services import document_service, report_service

    owner_id, _ = owner
    listed = await document_service.list_documents(owner_id, token_version=0, page=1, page_size=100, **narrowed)  # type: ignore[arg-type]
    assert listed is not None
    filename_at = [column.key for column in document_service.PUBLIC_COLUMNS].index("original_filename")
    assert {row[filename_at] for row in listed[0]} == expected
    async with async_session_factory()() as session:
        user = await session.get(User, owner_id)
        rows = await report_service.summary_documents(
            session, user, document_ids=None, file_type=narrowed.get("file_type"), status=narrowed.get("status"),  # type: ignore[arg-type]
            date_from=narrowed.get("date_from"), date_to=narrowed.get("date_to"),  # type: ignore[arg-type]
        )  # fmt: skip
    assert {document.original_filename for document, _ in rows} == expected


def test_search_is_literal_and_ids_narrow(owner: tuple[uuid.UUID, dict[str, uuid.UUID]]) -> None:
    from sqlalchemy import select

    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import Document
    from fastapi_app.services.document_filters import DocumentFilter, filter_clauses, filter_params, set_filters

    owner_id, ids = owner

    def names(document_filter: DocumentFilter) -> set[str]:
        params = filter_params(document_filter)
        query = select(Document.original_filename).where(
            Document.owner_id == owner_id, *filter_clauses(set_filters(params))
        )
        with sync_session_factory()() as session:
            return set(session.scalars(query, params))

    # % and _ are the file name's own characters, not LIKE wildcards.
    assert names(DocumentFilter(search="100%_")) == {"100%_invoice.pdf"}
    assert names(DocumentFilter(search="INVOICE")) == {"100%_invoice.pdf", "1000 invoice.pdf"}
    assert names(DocumentFilter(document_ids=(ids["ledger.xlsx"], ids["receipt.png"]))) == {
        "ledger.xlsx",
        "receipt.png",
    }
