"""Run callbacks after a transaction commits, and drop them if it rolls back: the one after-commit
mechanism, for ORM sessions (sync or async) and for the Core transactions of fastapi_app/db/direct.py.

Used to enqueue Celery tasks only once the row they refer to is visible to the worker, and to
broadcast an event only once it is in the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

_KEY = "after_commit_callbacks"


class Transaction(Protocol):
    """What a callback is registered on: a Session, or the statements of a direct.transaction."""

    info: dict[str, Any]


def on_commit(transaction: Session | AsyncSession | Transaction, callback: Callable[[], None]) -> None:
    """Run `callback` once `transaction` has committed; never if it rolls back."""
    target = transaction.sync_session if isinstance(transaction, AsyncSession) else transaction
    target.info.setdefault(_KEY, []).append(callback)


def run_committed(info: dict[str, Any]) -> None:
    """For the owner of a transaction that has just committed (the session listener below, direct.transaction):
    run each callback registered on it; one that fails is logged and the others still run."""
    for callback in info.pop(_KEY, []):
        try:
            callback()
        except Exception:  # a failed enqueue must not turn a committed upload into a 500
            logger.exception("after-commit callback failed; the recovery sweep will re-queue")


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    run_committed(session.info)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
