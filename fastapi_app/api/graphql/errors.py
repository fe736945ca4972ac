"""GraphQL errors in our vocabulary: every error a client sees carries an AppError's `error_code` (the
same code REST would answer with) in `extensions`, beside the HTTP-style `code` and `status`.

Pure: the schema (schema.py) rewrites each error through `to_app_error` and `apply` before it is sent,
over HTTP and over the WebSocket alike.
"""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError

from fastapi_app.core.errors import (
    HTTP_STATUS_CODES,
    AppError,
    GraphQLIntrospectionDisabled,
    GraphQLQueryTooDeep,
    GraphQLRefused,
    GraphQLTooManyAliases,
    GraphQLTooManyTokens,
    InternalError,
)

logger = logging.getLogger("fastapi_app.graphql")

# The validation rules of the limits (strawberry's QueryDepthLimiter, MaxAliasesLimiter, MaxTokensLimiter
# and graphql-core's NoSchemaIntrospectionCustomRule) report plain GraphQLErrors; their wording is all
# that tells them apart (tests/unit/test_graphql.py pins it against the installed versions).
_LIMIT_MESSAGES: tuple[tuple[re.Pattern[str], type[GraphQLRefused]], ...] = (
    (re.compile(r"exceeds maximum operation depth"), GraphQLQueryTooDeep),
    (re.compile(r"aliases found\. Allowed:"), GraphQLTooManyAliases),
    (re.compile(r"contains more than \d+ tokens"), GraphQLTooManyTokens),
    (re.compile(r"introspection has been disabled"), GraphQLIntrospectionDisabled),
)


def to_app_error(error: GraphQLError) -> AppError:
    """The AppError a GraphQL error stands for: the resolver's own, a refused operation's, or a 500
    (whose cause is logged, never sent)."""
    original = error.original_error
    if isinstance(original, AppError):
        return original
    if original is not None:
        logger.error("GraphQL resolver failed at %s", error.path, exc_info=original)
        return InternalError()
    for pattern, refused in _LIMIT_MESSAGES:
        if pattern.search(error.message):
            return refused(error.message)
    # Syntax errors, unknown fields, wrong argument types: graphql-core's message says what is wrong.
    return GraphQLRefused(error.message)


def extensions_for(app_error: AppError) -> dict[str, object]:
    extensions: dict[str, object] = {
        "error_code": app_error.error_code,
        "code": HTTP_STATUS_CODES.get(app_error.status_code, "HTTP_ERROR"),
        "status": app_error.status_code,
    }
    if app_error.details:
        extensions["details"] = app_error.details
    return extensions


def apply(error: GraphQLError) -> None:
    """Rewrite `error` in place as its AppError: that error's message and our extensions."""
    app_error = to_app_error(error)
    error.message = app_error.message
    error.extensions = extensions_for(app_error)


def error_body(app_error: AppError) -> dict[str, object]:
    """A whole GraphQL response of one error, for requests refused before any operation ran."""
    return {"data": None, "errors": [{"message": app_error.message, "extensions": extensions_for(app_error)}]}
