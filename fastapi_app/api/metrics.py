"""`GET /metrics`: Prometheus text format for scrapers, outside the API envelope and the schema."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from fastapi_app.core.metrics import CONTENT_TYPE, render_latest

router = APIRouter(tags=["metrics"])


# A plain `def`: the broker gauges do blocking reads (with short timeouts), so they run in the
# thread pool rather than on the event loop.
@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(content=render_latest(), media_type=CONTENT_TYPE)
