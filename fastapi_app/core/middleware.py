"""Pure ASGI middleware (no BaseHTTPMiddleware overhead): request id and the access log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_app.core.logging import ACCESS_LOGGER, request_id_var

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
access_logger = logging.getLogger(ACCESS_LOGGER)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0
        sent_bytes = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if scope["type"] == "http":
                duration_ms = (time.perf_counter() - started) * 1000
                client = scope.get("client") or ("-", 0)
                path = scope.get("path", "")
                # Query strings may hold tokens (?token= on the WebSocket): log the path only.
                access_logger.info(
                    '%s %s "%s %s" %s %s %s %.2f',
                    datetime.now(UTC).isoformat(timespec="milliseconds"),
                    client[0],
                    scope.get("method", "-"),
                    path,
                    status or 500,
                    sent_bytes,
                    request_id,
                    duration_ms,
                )
            request_id_var.reset(token)
