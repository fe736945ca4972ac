"""The one place errors become HTTP responses: always the SPEC §2 error envelope."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastapi_app.core.error_envelope import error_body, error_response, unhandled_error_handler
from fastapi_app.core.errors import HTTP_STATUS_CODES, AppError, ServiceUnavailable
from fastapi_app.core.logging import InQuotes

logger = logging.getLogger("fastapi_app.errors")


async def app_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, error_body(exc.message, exc.error_code, exc.details), exc.headers)


async def http_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_STATUS_CODES.get(exc.status_code, "HTTP_ERROR")
    message = {404: "The requested resource was not found.", 405: "Method not allowed for this path."}.get(
        exc.status_code, str(exc.detail)
    )
    return error_response(exc.status_code, error_body(message, code), getattr(exc, "headers", None))


async def validation_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")} for err in exc.errors()]
    first = errors[0] if errors else None
    where = ".".join(str(p) for p in first["loc"] if p != "body") if first else ""
    message = f"Invalid request: {where}: {first['msg']}" if first else "Invalid request."
    return error_response(422, error_body(message, "VALIDATION_ERROR", {"errors": errors}))


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    path = InQuotes(request.scope.get("path", ""))
    logger.error('database unavailable on %s "%s": %s', request.method, path, type(exc).__name__)
    err = ServiceUnavailable("The database is unavailable; retry shortly.")
    return error_response(err.status_code, error_body(err.message, err.error_code), {"Retry-After": "5"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(OperationalError, database_error_handler)
    app.add_exception_handler(InterfaceError, database_error_handler)
    app.add_exception_handler(ConnectionRefusedError, database_error_handler)
    app.add_exception_handler(Exception, unhandled_error_handler)
