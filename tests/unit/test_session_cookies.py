"""The web session's cookies follow SESSION_COOKIE_SECURE (in-process, on a fresh SQLite database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import migrated_sqlite_database


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with migrated_sqlite_database(tmp_path_factory.mktemp("cookies") / "app.sqlite3") as path:
        yield path


@pytest.mark.parametrize(
    ("setting", "forwarded_proto", "secure"),
    [("auto", None, False), ("auto", "https", True), ("true", None, True), ("false", "https", False)],
)
async def test_secure_attribute_follows_the_setting(
    database: Path, setting: str, forwarded_proto: str | None, secure: bool
) -> None:
    from fastapi_app.api import deps
    from fastapi_app.core.config import get_settings
    from fastapi_app.main import create_app

    app = create_app()
    configured = get_settings().model_copy(update={"SESSION_COOKIE_SECURE": setting})

    async def settings_override() -> object:
        return configured

    app.dependency_overrides[deps._settings] = settings_override
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    # ASGITransport's client is 127.0.0.1, a trusted proxy by default: its X-Forwarded-Proto is believed.
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        name = f"c{uuid.uuid4().hex[:8]}"
        account = {"username": name, "email": f"{name}@example.com", "password": "password123"}
        assert (await client.post("/api/auth/register", json=account)).status_code == 201
        r = await client.post("/api/auth/session", data={"username": name, "password": "password123"}, headers=headers)
    assert r.status_code == 200, r.text
    set_cookies = r.headers.get_list("set-cookie")
    assert [c.split("=", 1)[0] for c in set_cookies] == ["docproc_refresh", "docproc_csrf"]
    assert all(("; Secure" in c) is secure for c in set_cookies), set_cookies


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"F\x10\xff\x11P\xe8h}\xa0", "application/json"),  # not UTF-8 (found by tests/e2e/test_fuzz.py)
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"username": "x"}', "application/json"),
        (b"username=x", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"hello", "text/plain"),
    ],
)
async def test_a_malformed_login_body_is_422(database: Path, content: bytes, content_type: str) -> None:
    from fastapi_app.main import create_app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://t") as client:
        r = await client.post("/api/auth/session", content=content, headers={"Content-Type": content_type})
    assert r.status_code == 422, r.text
    assert r.json()["error_code"] == "VALIDATION_ERROR"
    assert "set-cookie" not in r.headers
