"""Run callbacks after a transaction commits, and drop them if it rolls back.

Used to enqueue Celery tasks only once the row they refer to is visible to the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

_KEY = "after_commit_callbacks"


def on_commit(session: Session | AsyncSession, callback: Callable[[], None]) -> None:
    target = session.sync_session if isinstance(session, AsyncSession) else session
    target.info.setdefault(_KEY, []).append(callback)


def run_after_commit(callbacks: Iterable[Callable[[], None]]) -> None:
    """Run each callback of a committed transaction; one that fails is logged and the others still run."""
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed enqueue must not turn a committed upload into a 500
            logger.exception("after-commit callback failed; the recovery sweep will re-queue")


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    run_after_commit(session.info.pop(_KEY, []))


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
