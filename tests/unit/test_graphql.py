"""The pure parts of GraphQL (fastapi_app/api/graphql): the limits and introspection switch of the
schema, and how errors become our error codes. No resolver runs: every case is refused in validation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graphql import GraphQLError

from fastapi_app.api.graphql.context import bearer_token, connection_token
from fastapi_app.api.graphql.errors import error_body, extensions_for, to_app_error
from fastapi_app.api.graphql.schema import build_schema
from fastapi_app.core.config import Settings
from fastapi_app.core.errors import DocumentNotFound, InternalError, TokenRevoked
from fastapi_app.core.security_headers import GRAPHIQL_CSP, GRAPHQL_PATH, security_headers_for


def _settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


def _codes(query: str, **overrides: Any) -> list[str]:
    result = asyncio.run(build_schema(_settings(**overrides)).execute(query))
    assert result.data is None
    return [error.extensions["error_code"] for error in result.errors or []]  # type: ignore[index]


def test_depth_aliases_and_tokens_are_refused_with_their_codes() -> None:
    # Depth counts from 0 at the root field: stats 0, recent 1, reports 2, id 3.
    assert _codes("{ stats { recent { reports { id } } } }", GRAPHQL_MAX_DEPTH=2) == ["GRAPHQL_QUERY_TOO_DEEP"]
    aliases = "{ " + " ".join(f"a{n}: me {{ id }}" for n in range(4)) + " }"
    assert _codes(aliases, GRAPHQL_MAX_ALIASES=3) == ["GRAPHQL_TOO_MANY_ALIASES"]
    assert _codes("{ me { " + "id " * 50 + "} }", GRAPHQL_MAX_TOKENS=40) == ["GRAPHQL_TOO_MANY_TOKENS"]


def test_limits_do_not_refuse_what_fits() -> None:
    # Within every limit, the query reaches its resolver (which wants a token): not a limit's code.
    result = asyncio.run(
        build_schema(_settings(GRAPHQL_MAX_DEPTH=3, GRAPHQL_MAX_ALIASES=3)).execute(
            "{ a: me { id } b: me { id } c: me { id } }", context_value=_Anonymous()
        )
    )
    assert {e.extensions["error_code"] for e in result.errors or []} == {"NOT_AUTHENTICATED"}  # type: ignore[index]


class _Anonymous:
    """A context with no token: resolvers refuse before touching the database."""

    socket_claims = None
    token = None

    def claims(self) -> Any:
        from fastapi_app.core.errors import NotAuthenticated

        raise NotAuthenticated()

    async def user(self) -> Any:
        return self.claims()


@pytest.mark.parametrize(
    ("environment", "setting", "allowed"),
    [
        ("development", "auto", True),
        ("test", "auto", False),
        ("production", "auto", False),
        ("test", "true", True),
        ("development", "false", False),
    ],
)
def test_introspection_follows_the_setting(environment: str, setting: str, allowed: bool) -> None:
    settings = _settings(ENVIRONMENT="test", GRAPHQL_INTROSPECTION=setting)
    settings.ENVIRONMENT = environment  # type: ignore[assignment]  # production refuses the example key
    assert settings.graphql_introspection is allowed
    result = asyncio.run(build_schema(settings).execute("{ __schema { queryType { name } } }"))
    if allowed:
        assert result.errors is None and result.data == {"__schema": {"queryType": {"name": "Query"}}}
    else:
        assert result.data is None
        assert {e.extensions["error_code"] for e in result.errors or []} == {"GRAPHQL_INTROSPECTION_DISABLED"}  # type: ignore[index]


def test_syntax_and_schema_errors_are_validation_failures_with_graphql_core_s_message() -> None:
    result = asyncio.run(build_schema(_settings()).execute("{ me { password } }"))
    (error,) = result.errors or []
    assert error.extensions == {"error_code": "GRAPHQL_VALIDATION_FAILED", "code": "BAD_REQUEST", "status": 400}
    assert "password" in error.message
    assert _codes("{ me { id ") == ["GRAPHQL_VALIDATION_FAILED"]


def test_app_errors_keep_their_code_message_and_status() -> None:
    error = GraphQLError("ignored", original_error=DocumentNotFound())
    assert to_app_error(error).error_code == "DOCUMENT_NOT_FOUND"
    assert extensions_for(DocumentNotFound()) == {
        "error_code": "DOCUMENT_NOT_FOUND",
        "code": "NOT_FOUND",
        "status": 404,
    }
    assert extensions_for(TokenRevoked())["code"] == "NOT_AUTHENTICATED"
    busy = extensions_for(type("Busy", (DocumentNotFound,), {})(details={"status": "processing"}))
    assert busy["details"] == {"status": "processing"}
    assert error_body(TokenRevoked()) == {
        "data": None,
        "errors": [
            {
                "message": TokenRevoked.message,
                "extensions": {"error_code": "TOKEN_REVOKED", "code": "NOT_AUTHENTICATED", "status": 401},
            }
        ],
    }


def test_unexpected_errors_are_internal_errors_without_their_text() -> None:
    leaked = GraphQLError("password=hunter2", original_error=RuntimeError("password=hunter2"))
    app_error = to_app_error(leaked)
    assert isinstance(app_error, InternalError) and "hunter2" not in app_error.message


def test_tokens_are_read_from_the_header_and_the_connection_init_payload() -> None:
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token("Bearer ") is None and bearer_token(None) is None
    assert connection_token({"token": "abc"}) == "abc"
    assert connection_token({"Authorization": "Bearer abc"}) == "abc"
    assert connection_token({"authorization": "Bearer abc"}) == "abc"
    assert connection_token({"Authorization": "abc"}) is None
    assert connection_token(None) is None and connection_token(["abc"]) is None and connection_token({}) is None


def test_the_graphql_path_gets_graphiql_s_csp_without_unsafe_inline() -> None:
    headers = dict(security_headers_for({"type": "http", "path": GRAPHQL_PATH, "scheme": "http"}))
    assert headers[b"content-security-policy"] == GRAPHIQL_CSP.encode()
    assert "unsafe" not in GRAPHIQL_CSP and "script-src 'self';" in GRAPHIQL_CSP
    assert "default-src 'none'" in GRAPHIQL_CSP and "frame-ancestors 'none'" in GRAPHIQL_CSP
