"""Security headers on every HTTP response: built once, chosen per request by path and scheme."""

from __future__ import annotations

from starlette.types import Scope

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
# The web app (issue 14): its shell and its static files. Scripts and styles only from our own files
# (no inline code: an injected <script> or style attribute does nothing), previews as blob: images.
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
# The shell's routes without a parameter (fastapi_app/api/web.py serves these and WEB_SHELL_PARAM_ROUTES).
WEB_SHELL_PATHS = frozenset(
    {
        "/",
        "/login",
        "/signup",
        "/upload",
        "/documents",
        "/stats",
        "/profile",
        "/admin",
        "/admin/users",
        "/admin/documents",
        "/admin/operations",
    }
)
# The shell's routes with one parameter, as the last segment (a document's page, a batch's page).
WEB_SHELL_PARAM_ROUTES = ("/documents/{document_id}", "/batches/{batch_id}")
WEB_SHELL_PARAM_PREFIXES = tuple(route.split("{", 1)[0] for route in WEB_SHELL_PARAM_ROUTES)
WEB_STATIC_PREFIXES = ("/static/app/", "/static/vendor/")
# GraphQL's path serves JSON and, to a browser, GraphiQL (fastapi_app/api/graphql): its scripts and
# styles are our own files (the bootstrap too: no inline code), its fonts and icons data: URLs, and it
# talks to the same origin only (POST, and ws: for subscriptions).
GRAPHQL_PATH = "/api/v1/graphql"
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"

_COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_API = (*_COMMON, (b"content-security-policy", API_CSP.encode()))
_DOCS = (*_COMMON, (b"content-security-policy", DOCS_CSP.encode()))
_WEB = (*_COMMON, (b"content-security-policy", WEB_CSP.encode()))
_GRAPHIQL = (*_COMMON, (b"content-security-policy", GRAPHIQL_CSP.encode()))
_HSTS = ((b"strict-transport-security", HSTS.encode()),)


def is_web_path(path: str) -> bool:
    """Whether the path is the web app's shell or one of its static files."""
    if path in WEB_SHELL_PATHS or path.startswith(WEB_STATIC_PREFIXES):
        return True
    # /documents/{id}, /batches/{id}: exactly one more segment (/batches/{id}/report is the API's 404).
    for prefix in WEB_SHELL_PARAM_PREFIXES:
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            return rest != "" and "/" not in rest
    return False


def security_headers_for(scope: Scope) -> tuple[tuple[bytes, bytes], ...]:
    """The headers an HTTP response to this request gets (added by RequestLifecycleMiddleware)."""
    path = scope.get("path") or ""
    if path in DOCS_PATHS:
        extra = _DOCS
    elif path == GRAPHQL_PATH:
        extra = _GRAPHIQL
    else:
        extra = _WEB if is_web_path(path) else _API
    # The scheme is the proxy's word only when the proxy is trusted: RequestLifecycleMiddleware decided.
    return (*extra, *_HSTS) if scope.get("scheme") == "https" else extra
