"""The one request middleware (pure ASGI): the client behind trusted proxies, request id, access log,
metrics and security headers.

These were four layers once (BaseHTTPMiddleware, then three pure ASGI classes). Each layer is a
coroutine call and a `send` wrapper per message, which the profile of the hottest read showed as a
tenth of its CPU time; one layer does all four jobs with one wrapper.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_app.core.error_envelope import unhandled_error_handler
from fastapi_app.core.logging import ACCESS_LOGGER, Bare, InQuotes, request_id_var
from fastapi_app.core.metrics import observe_request, route_template
from fastapi_app.core.ratelimit import IpNetwork, client_ip, header, ip_in, parse_networks
from fastapi_app.core.security_headers import security_headers_for
from fastapi_app.core.versioning import version_headers

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
access_logger = logging.getLogger(ACCESS_LOGGER)
# After the time (added by the access log's formatter): client "METHOD path" status bytes request-id ms.
# The path is the caller's text: quoted with its quotes escaped (InQuotes), controls escaped by the formatter.
ACCESS_LINE = '%s "%s %s" %s %s %s %.2f'


_FORWARDED_SCHEMES = {"http": {"http": "http", "https": "https"}, "websocket": {"http": "ws", "https": "wss"}}


def apply_trusted_proxy(scope: Scope, trusted: tuple[IpNetwork, ...]) -> None:
    """The one place TRUSTED_PROXIES is applied: when the peer is a trusted proxy, the client becomes
    the nearest X-Forwarded-For hop that is not one (`client_ip`) and the scheme its X-Forwarded-Proto.
    Logs, rate limits and HSTS then read scope["client"] and scope["scheme"]. Anyone else's headers
    are ignored. The servers' own handling is off (--no-proxy-headers, fastapi_app.gunicorn_worker)."""
    peer = scope.get("client")
    if not peer or not ip_in(peer[0], trusted):
        return
    client = client_ip(scope, trusted)
    if client != peer[0]:
        scope["client"] = (client, 0)
    proto = (header(scope, b"x-forwarded-proto") or "").strip().lower()
    if scheme := _FORWARDED_SCHEMES[scope["type"]].get(proto):
        scope["scheme"] = scheme


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    return uuid.uuid4().hex


class RequestLifecycleMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: list[str] | None = None, *, vary_origin: bool = False) -> None:
        self.app = app
        self.trusted: tuple[IpNetwork, ...] = parse_networks(trusted_proxies or [])
        # With CORS on, an answer depends on the Origin header even when the request had none (see
        # BrowserCORSMiddleware): caches must know.
        self.vary: tuple[tuple[bytes, bytes], ...] = ((b"vary", b"Origin"),) if vary_origin else ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind in _FORWARDED_SCHEMES and self.trusted:
            apply_trusted_proxy(scope, self.trusted)
        if kind == "websocket":
            # A WebSocket gets its request id (its logs carry it); its lifetime is no request latency.
            request_id = _request_id(scope)
            scope.setdefault("state", {})["request_id"] = request_id
            token = request_id_var.set(request_id)
            try:
                await self.app(scope, receive, send)
            finally:
                request_id_var.reset(token)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        extra = (
            *security_headers_for(scope),
            *version_headers(scope["path"]),
            *self.vary,
            (b"x-request-id", request_id.encode()),
        )
        status = 0
        sent_bytes = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}  # a handler's own value always wins
                headers.extend(item for item in extra if item[0] not in present)
                message["headers"] = headers
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if status:  # the answer had started: nothing more can be sent; the server closes the connection
                raise
            # An error no handler took: answered here, so the envelope carries the request id (for the
            # support ticket) and the security headers. Starlette's ServerErrorMiddleware, outside us,
            # would send the same envelope without them. Logged with its traceback by the handler.
            response = await unhandled_error_handler(Request(scope, receive), exc)
            await response(scope, receive, send_wrapper)
        finally:
            duration = time.perf_counter() - started
            # No response started means the exception went up to the server error handler: a 500.
            observe_request(scope.get("method"), route_template(scope), status or 500, duration)
            if access_logger.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("-", 0)
                # The record is made directly: Logger.info would walk the stack to find its caller, which
                # an access line never shows. Query strings may hold tokens (?token=): the path only.
                access_logger.handle(
                    access_logger.makeRecord(
                        ACCESS_LOGGER,
                        logging.INFO,
                        __file__,
                        0,
                        ACCESS_LINE,
                        (
                            Bare(client[0]),
                            scope.get("method", "-"),
                            InQuotes(scope.get("path", "")),
                            status or 500,
                            sent_bytes,
                            request_id,
                            duration * 1000,
                        ),
                        None,
                    )
                )
            request_id_var.reset(token)


class BrowserCORSMiddleware:
    """Starlette's CORSMiddleware, for the requests it has something to do with: those with an Origin
    header (browsers). Others, API clients and scripts, skip it and its `send` wrapper; the only thing
    it gave them was `Vary: Origin`, which RequestLifecycleMiddleware adds instead (vary_origin)."""

    def __init__(self, app: ASGIApp, **cors_options: Any) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, **cors_options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
