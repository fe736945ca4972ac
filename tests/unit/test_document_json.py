"""The hottest reads serialise DocumentOut rows with orjson: the bytes must be pydantic's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from fastapi_app.schemas.common import ApiResponse, PagedResponse
from fastapi_app.schemas.document import DOCUMENT_OUT_FIELDS, DocumentOut, document_envelope_json, document_json_row


def _row(**changes: Any) -> dict[str, Any]:
    now = datetime(2026, 11, 26, 12, 30, 5, 123456, tzinfo=UTC)
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "original_filename": "거래명세서 2026-03.pdf",
        "file_type": "pdf",
        "mime_type": "application/pdf",
        "size_bytes": 1_048_576,
        "sha256": "ab" * 32,
        "status": "completed",
        "stage": "done",
        "progress": 100,
        "error_code": None,
        "error_message": None,
        "upload_warnings": [],
        "duplicate_of_id": None,
        "current_run": 2,
        "attempts": 1,
        "queued_at": now,
        "processing_started_at": now.replace(microsecond=0),
        "completed_at": None,
        "processing_ms": 20,
        "created_at": now,
        "updated_at": now,
        "total_count": 7,  # the list query's window count rides along and must not leak
    }
    row.update(changes)
    return row


ROWS = [
    _row(),
    _row(
        status="failed",
        error_code="CORRUPT_FILE",
        error_message='Bad "xref"\n\ttable \x01 \\ é ✓ 😀',
        upload_warnings=[{"message": "named .xls", "code": "EXTENSION_MISMATCH", "extra": 1}],
        duplicate_of_id=uuid.uuid4(),
        processing_ms=None,
    ),
    _row(queued_at=datetime(2026, 1, 1, tzinfo=UTC), size_bytes=0),
]


@pytest.mark.parametrize("row", ROWS)
def test_one_document_is_byte_identical_to_pydantic(row: dict[str, Any]) -> None:
    expected = ApiResponse[DocumentOut].model_validate({"data": row}).model_dump_json().encode()
    assert document_envelope_json(document_json_row(tuple(row.values()))) == expected


def test_a_page_is_byte_identical_to_pydantic() -> None:
    page = {"total": 7, "page": 2, "page_size": 3, "total_pages": 3}
    expected = PagedResponse[DocumentOut].model_validate({"data": ROWS, **page}).model_dump_json().encode()
    assert document_envelope_json([document_json_row(tuple(r.values())) for r in ROWS], **page) == expected
    empty = PagedResponse[DocumentOut].model_validate({"data": [], **page}).model_dump_json().encode()
    assert document_envelope_json([], **page) == empty


def test_uuid_subclasses_from_asyncpg() -> None:
    from asyncpg.pgproto.pgproto import UUID as AsyncpgUUID

    row = _row(id=AsyncpgUUID(str(uuid.uuid4())), duplicate_of_id=AsyncpgUUID(str(uuid.uuid4())))
    expected = ApiResponse[DocumentOut].model_validate({"data": row}).model_dump_json().encode()
    assert document_envelope_json(document_json_row(tuple(row.values()))) == expected


def test_the_hot_read_selects_exactly_the_schema_fields() -> None:
    from fastapi_app.services.document_service import PUBLIC_COLUMNS

    assert tuple(c.name for c in PUBLIC_COLUMNS) == DOCUMENT_OUT_FIELDS
    assert "encrypted_password" not in DOCUMENT_OUT_FIELDS
