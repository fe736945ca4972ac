from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from fastapi_app.services import health_service

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, Any]:
    """Liveness: the process answers. Use /health/ready for dependencies."""
    return {"success": True, "message": "OK", "data": {"status": "ok"}}


@router.get("/health/ready", responses={503: {"description": "A dependency is down; `data.checks` names it"}})
async def ready() -> JSONResponse:
    readiness = await health_service.readiness()
    if readiness.failing:
        body = {
            "success": False,
            "message": f"Not ready: {', '.join(readiness.failing)} unavailable",
            "error_code": "SERVICE_UNAVAILABLE",
            "details": readiness.as_data(),
        }
        return JSONResponse(status_code=503, content=body)
    return JSONResponse(content={"success": True, "message": "Ready", "data": readiness.as_data()})
