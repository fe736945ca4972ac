"""GraphQL at /api/v1/graphql (issue 16): the REST API's services and auth, another shape."""

from fastapi_app.api.graphql.router import GRAPHQL_PATH, graphql_router

__all__ = ["GRAPHQL_PATH", "graphql_router"]
