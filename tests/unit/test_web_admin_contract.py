"""The OpenAPI contract of the issue 14 routes (web session, previews, admin): documented shapes that
clients generated from /openapi.json can rely on."""

from __future__ import annotations

from typing import Any

from fastapi_app.main import create_app


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_every_schema_reference_resolves() -> None:
    schema = create_app().openapi()
    components = schema["components"]["schemas"]
    dangling = sorted(ref for ref in _refs(schema) if ref.removeprefix("#/components/schemas/") not in components)
    assert dangling == []


def test_session_login_takes_a_form_or_json() -> None:
    body = create_app().openapi()["paths"]["/api/v1/auth/session"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/x-www-form-urlencoded", "application/json"}
    for content in body["content"].values():
        assert content["schema"]["required"] == ["username", "password"]


def test_admin_routes_document_401_and_403() -> None:
    paths = create_app().openapi()["paths"]
    admin = {path: ops for path, ops in paths.items() if path.startswith("/api/v1/admin/")}
    assert len(admin) == 5
    for path, operations in admin.items():
        for method, operation in operations.items():
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            assert operation["tags"] == ["admin"]


def test_preview_is_documented_as_png() -> None:
    operation = create_app().openapi()["paths"]["/api/v1/documents/{document_id}/pages/{page}/preview"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["image/png"]
    params = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert (params["width"]["minimum"], params["width"]["maximum"], params["width"]["default"]) == (200, 2000, 1000)
    assert params["page"]["minimum"] == 1
