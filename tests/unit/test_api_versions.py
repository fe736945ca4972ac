"""API versions: /api/v1 is canonical and the only prefix in OpenAPI; /api/... is a deprecated alias of
every v1 route, answering the same with Deprecation and Link headers (README "API versions")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from fastapi_app.core.versioning import successor_path, version_headers
from fastapi_app.main import create_app
from tests.conftest import migrated_sqlite_database


def _routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, full path template) of every HTTP route the app answers, schema or not."""
    found: set[tuple[str, str]] = set()
    stack = list(app.routes)
    while stack:
        route = stack.pop()
        if hasattr(route, "effective_candidates"):  # a router included under a prefix
            stack.extend(route.effective_candidates())
            continue
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        original = getattr(route, "original_route", route)
        for method in getattr(original, "methods", None) or ():
            found.add((method, path))
    return found


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    with migrated_sqlite_database(tmp_path / "app.sqlite3"):
        from fastapi_app.files.storage import get_storage

        get_storage().ensure_dirs()
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


def test_openapi_lists_only_v1_paths_and_names_the_version() -> None:
    schema = create_app().openapi()
    api_paths = [path for path in schema["paths"] if path.startswith("/api")]
    assert len(api_paths) > 25
    assert all(path.startswith("/api/v1/") for path in api_paths), api_paths
    assert schema["info"]["x-api-version"] == "v1"
    assert "# API versions" in schema["info"]["description"]
    assert all(not op.get("deprecated") for ops in schema["paths"].values() for op in ops.values())


def test_every_v1_route_has_its_deprecated_alias_and_nothing_else_is_under_api() -> None:
    app = create_app()
    routes = _routes(app)
    # GraphQL came with v1 and never had an unversioned address.
    v1 = {
        (method, path.removeprefix("/api/v1"))
        for method, path in routes
        if path.startswith("/api/v1/") and path != "/api/v1/graphql"
    }
    legacy = {
        (method, path.removeprefix("/api"))
        for method, path in routes
        if path.startswith("/api/") and not path.startswith("/api/v1/")
    }
    assert len(v1) > 25
    assert v1 == legacy
    schema = app.openapi()["paths"]
    schema_ops = {(method.upper(), path) for path, ops in schema.items() for method in ops if path.startswith("/api")}
    assert schema_ops <= {(m, "/api/v1" + p) for m, p in v1}


async def test_a_legacy_path_answers_like_v1_with_deprecation_headers(api: httpx.AsyncClient) -> None:
    register = {"username": "verso", "email": "verso@example.com", "password": "password123"}
    assert (await api.post("/api/v1/auth/register", json=register)).status_code == 201
    login = await api.post("/api/auth/login", data={"username": "verso", "password": "password123"})
    assert login.status_code == 200
    assert login.headers["deprecation"].startswith("@")
    since = datetime.fromtimestamp(int(login.headers["deprecation"][1:]), UTC)
    assert since.year == 2026
    assert '</api/v1/auth/login>; rel="successor-version"' in login.headers["link"]
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    canonical = await api.get("/api/v1/users/me", headers=headers)
    alias = await api.get("/api/users/me", headers=headers)
    assert canonical.status_code == alias.status_code == 200
    assert canonical.json() == alias.json()
    assert canonical.json()["data"]["username"] == "verso"
    assert canonical.headers["api-version"] == alias.headers["api-version"] == "v1"
    assert "deprecation" not in canonical.headers and "link" not in canonical.headers
    assert alias.headers["link"].startswith('</api/v1/users/me>; rel="successor-version"')

    # Errors carry them too: a client learns of the move from any answer.
    missing = await api.get("/api/documents/00000000-0000-0000-0000-000000000000", headers=headers)
    assert missing.status_code == 404 and missing.json()["error_code"] == "DOCUMENT_NOT_FOUND"
    assert missing.headers["deprecation"] and "/api/v1/documents/00000000-" in missing.headers["link"]
    assert (await api.get("/health")).headers.get("api-version") is None


@pytest.mark.parametrize(
    ("path", "successor"),
    [
        ("/api/documents/", "/api/v1/documents/"),
        ("/api/auth/session/refresh", "/api/v1/auth/session/refresh"),
        ("/api/v1/documents/", None),
        ("/api/v1", None),
        ("/api", None),
        ("/apiary", None),
        ("/health", None),
    ],
)
def test_successor_path(path: str, successor: str | None) -> None:
    assert successor_path(path) == successor


def test_a_hostile_path_cannot_break_out_of_the_link_header() -> None:
    headers = dict(version_headers('/api/x>; rel="evil", <http://evil.example/'))
    link = headers[b"link"].decode()
    assert link.count("<") == 2 and link.count(">") == 2
    assert re.findall(r'rel="([^"]*)"', link) == ["successor-version", "deprecation"]
