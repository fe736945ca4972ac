"""`GET /metrics`: Prometheus text format for scrapers, outside the API envelope and the schema."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import NotAuthenticated
from fastapi_app.core.metrics import CONTENT_TYPE, render_latest

router = APIRouter(tags=["metrics"])


def _check_token(request: Request) -> None:
    expected = get_settings().METRICS_TOKEN.get_secret_value()
    if not expected:
        return
    scheme, _, presented = (request.headers.get("authorization") or "").partition(" ")
    # Constant time: the comparison must not tell a guesser how much of the token was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise NotAuthenticated("Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.")


# A plain `def`: the broker gauges do blocking reads (with short timeouts), so they run in the
# thread pool rather than on the event loop.
@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    _check_token(request)
    return Response(content=render_latest(), media_type=CONTENT_TYPE)
