"""The GraphQL endpoint: POST /api/v1/graphql (queries, mutations), the same path over WebSocket
(graphql-transport-ws subscriptions) and, when introspection is on, GraphiQL for a browser's GET."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cross_web import HTTPException
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from fastapi_app.api.deps import SessionDep, SettingsDep
from fastapi_app.api.graphql.context import GraphQLContext, bearer_token, connection_token
from fastapi_app.api.graphql.errors import error_body
from fastapi_app.api.graphql.schema import build_schema
from fastapi_app.core.config import Settings
from fastapi_app.core.errors import (
    HTTP_STATUS_CODES,
    AppError,
    BadRequest,
    GraphQLBatchNotAllowed,
    NotFound,
)
from fastapi_app.services import access_service

GRAPHQL_PATH = "/api/v1/graphql"
GRAPHIQL_PAGE = Path(__file__).with_name("graphiql.html")


async def _context(connection: HTTPConnection, session: SessionDep, settings: SettingsDep) -> GraphQLContext:
    # A WebSocket's token comes with connection_init (on_ws_connect below), never in a header or the URL.
    token = None if isinstance(connection, WebSocket) else bearer_token(connection.headers.get("authorization"))
    return GraphQLContext(session, settings, token)


def _refusal(app_error: AppError) -> JSONResponse:
    return JSONResponse(error_body(app_error), status_code=app_error.status_code, headers=app_error.headers)


class AppGraphQLRouter(GraphQLRouter[GraphQLContext, None]):
    async def on_ws_connect(self, context: GraphQLContext) -> dict[str, object] | None:  # type: ignore[override]
        claims = await access_service.socket_claims(connection_token(context.connection_params))
        if claims is None:
            # Closed with 4403 by strawberry: a bad, expired or revoked token, or none.
            raise ConnectionRejectionError({"error_code": "INVALID_TOKEN", "message": "invalid or expired token"})
        context.socket_claims = claims
        return None

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(GRAPHIQL_PAGE.read_bytes(), headers={"Cache-Control": "no-cache"})

    def _validate_batch_request(self, request_data: Any, protocol: Any) -> None:
        # A batch would run its operations concurrently on one request's session: one operation a request.
        # strawberry's hook for a JSON array body (tests/e2e/test_graphql.py pins the code it gives).
        raise GraphQLBatchNotAllowed()

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:  # type: ignore[override]
        try:
            return await super().run(request, context=context, root_value=root_value)
        except AppError as refused:
            return _refusal(refused)
        except HTTPException as refused:
            return _refusal(_transport_error(refused))


def _transport_error(refused: HTTPException) -> AppError:
    """strawberry's transport errors (bad JSON, no query, GraphiQL off, ...) as AppErrors."""
    if refused.status_code == 404:
        return NotFound()
    if refused.status_code == 400:
        return BadRequest(refused.reason)
    app_error = AppError(refused.reason, error_code=HTTP_STATUS_CODES.get(refused.status_code, "BAD_REQUEST"))
    app_error.status_code = refused.status_code
    return app_error


def graphql_router(settings: Settings) -> AppGraphQLRouter:
    return AppGraphQLRouter(
        build_schema(settings),
        path=GRAPHQL_PATH,
        context_getter=_context,
        # GraphiQL shows nothing useful without the schema, so it is there only with introspection.
        graphql_ide="graphiql" if settings.graphql_introspection else None,
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        multipart_uploads_enabled=False,
        # Not in /openapi.json: its answers are GraphQL's, not the REST envelope, and its schema is the
        # GraphQL schema (introspection, GraphiQL).
        include_in_schema=False,
    )
