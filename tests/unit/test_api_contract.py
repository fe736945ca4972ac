"""The public contract: offline docs, the OpenAPI schema, and the documented error codes."""

from __future__ import annotations

import inspect
import re

import httpx
import pytest

from fastapi_app.core import errors
from fastapi_app.main import create_app
from tests.support.stack import ROOT


@pytest.fixture
async def api():  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://t") as client:
        yield client


async def test_docs_pages_work_without_internet(api: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await api.get(page)).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert assets, page
        for asset in assets:
            assert not asset.startswith(("http://", "https://", "//")), f"{page} loads {asset} from outside"
            if asset.endswith((".js", ".css", ".png")):
                r = await api.get(asset)
                assert r.status_code == 200 and len(r.content) > 100, asset
    assert "cdn.jsdelivr" not in (await api.get("/docs")).text


async def test_openapi_documents_every_error_shape(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    assert "ErrorResponse" in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == (
        "/api/v1/auth/login"
    )
    for path, operations in schema["paths"].items():
        if path.startswith("/health"):
            continue
        for method, operation in operations.items():
            errors_documented = {
                code for code, response in operation["responses"].items() if code.startswith(("4", "5"))
            }
            assert errors_documented, f"{method.upper()} {path} documents no error response"
            for code in errors_documented - {"422"}:
                ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), (path, code)
    upload = schema["paths"]["/api/v1/documents/upload"]["post"]
    properties = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert set(properties) == {"file", "file_type", "password", "callback_url"}


def test_every_error_code_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    codes = {
        cls.error_code for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, errors.AppError)
    }
    codes |= set(errors.HTTP_STATUS_CODES.values())
    codes |= {"MALFORMED_MULTIPART", "UPLOAD_INCOMPLETE", "FILE_MISSING", "WORKER_LOST", "PROCESSING_TIMEOUT"}
    missing = sorted(code for code in codes if f"`{code}`" not in readme)
    assert not missing, f"error codes missing from the README: {missing}"


async def test_unhandled_errors_are_envelopes_without_traces() -> None:
    app = create_app()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {
        "success": False,
        "message": "An unexpected error occurred. It has been logged.",
        "error_code": "INTERNAL_ERROR",
        "details": None,
    }
    assert "secret internals" not in r.text
    # Answered inside our middleware: the request id to quote and the security headers, as on any answer.
    assert len(r.headers["x-request-id"]) == 32
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
