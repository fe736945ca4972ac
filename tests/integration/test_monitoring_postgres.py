"""documents_oldest_pending_age_seconds on real PostgreSQL: the age of the longest-waiting queued document."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.conftest import reset_cached_settings

pytestmark = pytest.mark.integration

TEN_YEARS = timedelta(days=3650)


def test_oldest_pending_age_follows_the_longest_waiting_document(
    postgres_app_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi_app.core.vocabulary import DocumentStatus
    from fastapi_app.db.session import get_async_engine, sync_session_factory
    from fastapi_app.models import Document, User
    from fastapi_app.services import monitoring_service

    # A failure seen by an earlier test of this process must not hold the gauge at -1 here.
    monkeypatch.setattr(monitoring_service, "_state", monitoring_service._State())

    def age() -> float:
        # Each asyncio.run is a new event loop: an engine cached by an earlier test belongs to another.
        reset_cached_settings()

        async def read() -> float:
            try:
                return await monitoring_service.oldest_pending_age_seconds()
            finally:
                await get_async_engine().dispose()

        return asyncio.run(read())

    with sync_session_factory().begin() as session:
        user = User(
            username=f"mon_{uuid.uuid4().hex[:8]}", email=f"{uuid.uuid4().hex[:8]}@example.com", hashed_password="x"
        )
        session.add(user)
        session.flush()
        # Queued ten years ago: older than anything another test left pending in this database.
        document = Document(
            owner_id=user.id,
            original_filename="old.pdf",
            stored_name=f"{uuid.uuid4().hex}.pdf",
            file_type="pdf",
            mime_type="application/pdf",
            size_bytes=1,
            sha256=hashlib.sha256(b"x").hexdigest(),
            queued_at=datetime.now(UTC) - TEN_YEARS,
        )
        session.add(document)
        session.flush()
        document_id = document.id

    waited = age()
    assert TEN_YEARS.total_seconds() <= waited < TEN_YEARS.total_seconds() + 60

    with sync_session_factory().begin() as session:
        session.execute(update(Document).where(Document.id == document_id).values(status=DocumentStatus.COMPLETED))
    assert 0 <= age() < TEN_YEARS.total_seconds()
