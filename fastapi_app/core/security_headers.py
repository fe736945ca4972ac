"""Security headers on every HTTP response: pure ASGI, headers built once, no per-request parsing
beyond one scan of the response's own headers (a handler's own value always wins)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_app.core.ratelimit import IpNetwork, header, ip_in, parse_networks

# API responses are data, never documents: nothing may load, and nothing may frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc pages: their bundles come from our /static-offline-docs, their bootstrap is
# an inline <script>, ReDoc runs a blob: worker and both use data: images and fonts.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
HSTS = "max-age=31536000; includeSubDomains"

_COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_API = (*_COMMON, (b"content-security-policy", API_CSP.encode()))
_DOCS = (*_COMMON, (b"content-security-policy", DOCS_CSP.encode()))
_HSTS = ((b"strict-transport-security", HSTS.encode()),)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: list[str] | None = None) -> None:
        self.app = app
        self.trusted: tuple[IpNetwork, ...] = parse_networks(trusted_proxies or [])

    def _https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        # Behind a TLS-terminating proxy the hop to us is plain http: believe its word, but only its.
        peer = (scope.get("client") or ("", 0))[0]
        return ip_in(peer, self.trusted) and (header(scope, b"x-forwarded-proto") or "").lower() == "https"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _DOCS if scope.get("path") in DOCS_PATHS else _API
        if self._https(scope):
            extra = (*extra, *_HSTS)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
