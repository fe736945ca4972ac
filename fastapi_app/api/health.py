from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from fastapi_app.core.config import get_settings
from fastapi_app.db.session import get_async_engine
from fastapi_app.files.storage import get_storage

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 3.0


@router.get("/health")
async def health() -> dict[str, Any]:
    """Liveness: the process answers. Use /health/ready for dependencies."""
    return {"success": True, "message": "OK", "data": {"status": "ok"}}


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


@router.get("/health/ready", responses={503: {"description": "A dependency is down; `data.checks` names it"}})
async def ready() -> JSONResponse:
    checks: dict[str, dict[str, Any]] = {}

    async def run(name: str, check: Any) -> None:
        started = time.perf_counter()
        try:
            with anyio.fail_after(CHECK_TIMEOUT_S + 1):
                if asyncio.iscoroutinefunction(check):
                    await check()
                else:
                    await anyio.to_thread.run_sync(check)
            checks[name] = {"ok": True}
        except Exception as exc:  # report, never raise: this endpoint exists to say what is down
            checks[name] = {"ok": False, "error": type(exc).__name__}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)

    async with anyio.create_task_group() as group:
        group.start_soon(run, "database", _check_database)
        group.start_soon(run, "broker", _check_broker)
        group.start_soon(run, "storage", _check_storage)
    failing = [name for name, result in checks.items() if not result["ok"]]
    settings = get_settings()
    data = {"status": "ok" if not failing else "unavailable", "checks": checks, "broker": settings.broker_kind}
    if failing:
        body = {
            "success": False,
            "message": f"Not ready: {', '.join(sorted(failing))} unavailable",
            "error_code": "SERVICE_UNAVAILABLE",
            "details": data,
        }
        return JSONResponse(status_code=503, content=body)
    return JSONResponse(content={"success": True, "message": "Ready", "data": data})
