"""Readiness: can this process reach what a request needs (database, broker, storage)?"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import text

from fastapi_app.core.config import get_settings
from fastapi_app.db.session import get_async_engine
from fastapi_app.files.storage import get_storage

CHECK_TIMEOUT_S = 3.0

Check = Callable[[], Awaitable[None]] | Callable[[], None]


async def _check_database() -> None:
    async with get_async_engine().connect() as conn:
        await conn.execute(text("SELECT 1"))


def _check_broker() -> None:
    from fastapi_app.queue.app import celery_app

    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_S)


def _check_storage() -> None:
    # Local: UPLOAD_DIR writable. S3: temp space writable and HeadBucket answers.
    get_storage().check_ready()


CHECKS: dict[str, Check] = {"database": _check_database, "broker": _check_broker, "storage": _check_storage}


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, dict[str, Any]]
    broker: str

    @property
    def failing(self) -> list[str]:
        return sorted(name for name, result in self.checks.items() if not result["ok"])

    def as_data(self) -> dict[str, Any]:
        return {"status": "unavailable" if self.failing else "ok", "checks": self.checks, "broker": self.broker}


async def readiness() -> Readiness:
    """Every check at once, each bounded in time; a failure is reported by name, never raised."""
    checks: dict[str, dict[str, Any]] = {}

    async def run(name: str, check: Check) -> None:
        started = time.perf_counter()
        try:
            with anyio.fail_after(CHECK_TIMEOUT_S + 1):
                if asyncio.iscoroutinefunction(check):
                    await check()
                else:
                    await anyio.to_thread.run_sync(check)
            checks[name] = {"ok": True}
        except Exception as exc:  # report, never raise: readiness exists to say what is down
            checks[name] = {"ok": False, "error": type(exc).__name__}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)

    async with anyio.create_task_group() as group:
        for name, check in CHECKS.items():
            group.start_soon(run, name, check)
    return Readiness(checks={name: checks[name] for name in CHECKS}, broker=get_settings().broker_kind)
