"""The SPEC §2 error envelope as a response, and the answer to an error no handler took.

In core because the request middleware (core/middleware.py) answers unhandled errors itself; the
exception handlers that FastAPI installs are in api/errors.py and use the same envelope.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.requests import Request

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import InternalError
from fastapi_app.core.logging import InQuotes

logger = logging.getLogger("fastapi_app.errors")


def error_body(message: str, error_code: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "message": message, "error_code": error_code, "details": details}


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=jsonable_encoder(body), headers=headers)


async def unhandled_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # The path as received (request.url re-parses it and silently drops CR, LF and tab): the log shows
    # what the caller sent, escaped, like the access line.
    logger.exception('unhandled error on %s "%s"', request.method, InQuotes(request.scope.get("path", "")))
    err = InternalError()
    details = None
    if get_settings().DEBUG:
        details = {"exception": type(exc).__name__, "traceback": traceback.format_exception(exc)[-5:]}
    return error_response(err.status_code, error_body(err.message, err.error_code, details))
