"""The FastAPI application: `uvicorn fastapi_app.main:app --port 8001`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from fastapi_app import __version__
from fastapi_app.api import admin, auth, batches, documents, health, metrics, reports, users, web, webhooks, ws
from fastapi_app.api.errors import install_error_handlers
from fastapi_app.api.graphql import graphql_router
from fastapi_app.core.config import get_settings
from fastapi_app.core.logging import configure_logging
from fastapi_app.core.middleware import BrowserCORSMiddleware, RequestLifecycleMiddleware
from fastapi_app.core.ratelimit import Limiter
from fastapi_app.core.versioning import API_VERSION, LEGACY_PREFIX, V1_PREFIX
from fastapi_app.db.direct import close_backend
from fastapi_app.db.session import get_async_engine
from fastapi_app.files.storage import get_storage, sweep_abandoned_uploads
from fastapi_app.realtime.hub import get_hub

DESCRIPTION = """
Upload Excel workbooks, images and PDFs; workers extract the key information (text, tables,
key values, entities, EXIF, OCR in Korean and English) and build a structured report.

Every JSON response uses one envelope: `{"success", "message", "data"}`, lists add
`total, page, page_size, total_pages`, and errors are `{"success": false, "message",
"error_code", "details"}`. Authenticate with **Authorize** (OAuth2 password flow).

# API versions

Every path lives under `/api/v1`, the canonical prefix; each answer says `API-Version: v1`. The
unversioned `/api/...` paths of earlier releases still work as aliases of v1 and answer with
`Deprecation` and `Link: </api/v1/...>; rel="successor-version"`: move to `/api/v1`.

Within v1 changes are only additive: new paths, new optional parameters, new fields in answers, new
`error_code` values and new enum values (clients ignore what they do not know). Removing or renaming
a path, a field or an enum value, changing a field's type or meaning, making an optional parameter
required or changing the envelope would make a v2, served beside v1 under `/api/v2`, with v1 kept
and announced with a `Sunset` date first.
"""


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    get_storage().ensure_dirs()
    # Temp files of uploads that a previous process of this host was killed in the middle of.
    await anyio.to_thread.run_sync(sweep_abandoned_uploads)
    hub = get_hub()
    await hub.start()
    # Everything loaded so far (the app, its models and routes, the libraries) lives as long as the
    # process: move it out of the collector's reach. Full collections then scan only what requests
    # allocate, instead of pausing the event loop for the whole heap (seen as p99 spikes under load).
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        await hub.stop()
        await close_backend()
        await get_async_engine().dispose()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings, process="api")
    app = FastAPIOffline(
        title=settings.APP_NAME,
        version=__version__,
        description=DESCRIPTION,
        debug=settings.DEBUG,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
        # Our metrics are Prometheus (/metrics) and our logs our own; FastAPI's native OpenTelemetry
        # would otherwise look for configured providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    app.state.limiter = Limiter(settings)
    if settings.CORS_ORIGINS:
        app.add_middleware(
            BrowserCORSMiddleware,
            allow_origins=settings.CORS_ORIGINS,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Content-Disposition"],
        )
    # Outermost: it applies TRUSTED_PROXIES (the client and scheme behind a trusted proxy, for logs, rate
    # limits and HSTS), times everything, and preflight answers from CORS carry its headers too. Applied
    # here, not by the server, so this one setting decides however the service runs: the launchers turn
    # the server's own handling off (--no-proxy-headers, fastapi_app.gunicorn_worker).
    app.add_middleware(
        RequestLifecycleMiddleware, trusted_proxies=settings.TRUSTED_PROXIES, vary_origin=bool(settings.CORS_ORIGINS)
    )
    # Routes are matched in order and the prefixes never overlap: the most requested router goes first.
    # FastAPI walks every route of each included router that comes before the match (twice for the one
    # that matches), so the health checks, polled by every load balancer and orchestrator, come before
    # the ~60 API routes: /health matched in ~3 µs instead of ~50 (bench.app_cpu).
    # Each API router is mounted twice: under /api/v1 (canonical, in the OpenAPI schema) and under the
    # deprecated /api (an alias left out of the schema; core.versioning adds its headers).
    api_routers = (
        documents.router,
        batches.router,
        auth.router,
        users.router,
        reports.router,
        webhooks.router,
        admin.router,
    )
    app.include_router(health.router)
    for router in api_routers:
        app.include_router(router, prefix=V1_PREFIX)
    app.include_router(metrics.router)
    app.include_router(ws.router)
    app.include_router(graphql_router(settings))
    app.include_router(ws.router, prefix=V1_PREFIX)
    for router in api_routers:
        app.include_router(router, prefix=LEGACY_PREFIX, include_in_schema=False, deprecated=True)
    # Last: the web app's shell and static files, after every API route.
    app.include_router(web.router)
    _declare_api_version(app)
    return app


def _declare_api_version(app: FastAPI) -> None:
    """OpenAPI's info names the API version (`x-api-version`) beside the release (`version`)."""
    build_schema = app.openapi

    def openapi() -> dict[str, object]:
        schema = build_schema()
        schema["info"]["x-api-version"] = API_VERSION
        # The health checks are routed first (create_app); the reference still opens with the API.
        paths = schema["paths"]
        schema["paths"] = {path: paths[path] for path in sorted(paths, key=lambda path: path.startswith("/health"))}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


app = create_app()
