"""`GET /metrics`: Prometheus text format for scrapers, outside the API envelope and the schema."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import NotAuthenticated
from fastapi_app.core.metrics import CONTENT_TYPE, oldest_pending_family, render_latest
from fastapi_app.services.monitoring_service import oldest_pending_age_seconds

router = APIRouter(tags=["metrics"])


def _check_token(request: Request) -> None:
    expected = get_settings().METRICS_TOKEN.get_secret_value()
    if not expected:
        return
    scheme, _, presented = (request.headers.get("authorization") or "").partition(" ")
    # Constant time: the comparison must not tell a guesser how much of the token was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise NotAuthenticated("Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    _check_token(request)
    oldest_pending = oldest_pending_family(await oldest_pending_age_seconds())
    # The broker gauges do blocking reads (with short timeouts): in the thread pool, off the event loop.
    body = await run_in_threadpool(render_latest, [oldest_pending])
    return Response(content=body, media_type=CONTENT_TYPE)
