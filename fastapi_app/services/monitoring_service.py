"""Figures for /metrics that live in the database rather than in a process or the broker."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import anyio
from sqlalchemy import func, select

from fastapi_app.core.vocabulary import DocumentStatus
from fastapi_app.db.session import async_session_factory
from fastapi_app.models import Document

logger = logging.getLogger("fastapi_app.metrics")

QUERY_TIMEOUT_S = 0.5
RETRY_AFTER_S = 10.0


class _State:
    failing = False
    retry_at = 0.0


_state = _State()


async def oldest_pending_age_seconds() -> float:
    """How long the oldest document still waiting for a worker has waited (since it was queued):
    0 with none, -1 when the database does not answer in time. One indexed query (status) per scrape;
    after a failure, -1 without asking again for a while, so a dead database does not slow every scrape."""
    now = time.monotonic()
    if _state.failing and now < _state.retry_at:
        return -1.0
    try:
        with anyio.fail_after(QUERY_TIMEOUT_S):
            async with async_session_factory()() as session:
                oldest = await session.scalar(
                    select(func.min(Document.queued_at)).where(Document.status == DocumentStatus.PENDING)
                )
    except Exception as exc:
        if not _state.failing:
            logger.warning(
                "metrics: cannot read the oldest pending document (%s: %s); reporting -1", type(exc).__name__, exc
            )
        _state.failing, _state.retry_at = True, now + RETRY_AFTER_S
        return -1.0
    if _state.failing:
        logger.info("metrics: the database is readable again")
        _state.failing = False
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())
