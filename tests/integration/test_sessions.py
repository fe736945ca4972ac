"""Sessions on real PostgreSQL, in-process: what ends them (password change, logout, logout-all, a
disabled account), on every read path a token can take, and registration that does not reveal emails.

The same across two real uvicorn processes, and the WebSocket side: tests/e2e/test_sessions.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.documents import small_text_pdf

pytestmark = pytest.mark.integration

PASSWORD = "pw-12345678"


@pytest.fixture
async def api(postgres_app_env: str) -> AsyncIterator[httpx.AsyncClient]:
    from fastapi_app.main import create_app

    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _register(api: httpx.AsyncClient, username: str | None = None) -> str:
    username = username or f"s_{uuid.uuid4().hex[:10]}"
    r = await api.post(
        "/api/auth/register", json={"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    return username


async def _login(api: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    r = await api.post("/api/auth/login", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _reads(api: httpx.AsyncClient, tokens: dict[str, Any], document_id: str) -> dict[str, httpx.Response]:
    """One request on each way an access token is checked: the ORM account check (/me), the hot reads'
    joined check on raw asyncpg (one document, the list), and the upload's account check."""
    auth = _bearer(tokens)
    return {
        "me": await api.get("/api/users/me", headers=auth),
        "document": await api.get(f"/api/documents/{document_id}", headers=auth),
        "list": await api.get("/api/documents/", headers=auth),
        "upload": await api.post("/api/documents/upload", files={"file": ("a.pdf", small_text_pdf())}, headers=auth),
    }


def _assert_revoked(answers: dict[str, httpx.Response]) -> None:
    for path, r in answers.items():
        assert r.status_code == 401, (path, r.status_code, r.text)
        body = r.json()
        assert body["success"] is False and body["error_code"] == "TOKEN_REVOKED", (path, body)
        assert body["message"].endswith("log in again.")


async def test_password_change_ends_every_session_on_every_read_path(api: httpx.AsyncClient) -> None:
    username = await _register(api)
    laptop = await _login(api, username)
    phone = await _login(api, username)  # another session (refresh-token family) of the same account
    upload = await api.post(
        "/api/documents/upload", files={"file": ("a.pdf", small_text_pdf())}, headers=_bearer(phone)
    )
    document_id = upload.json()["data"]["id"]
    # Both tokens verified once: the verified-token cache now holds them.
    for tokens in (laptop, phone):
        assert all(r.status_code in {200, 202} for r in (await _reads(api, tokens, document_id)).values())

    r = await api.put(
        "/api/users/profile",
        json={"current_password": PASSWORD, "new_password": "new-password-1"},
        headers=_bearer(laptop),
    )
    assert r.status_code == 200, r.text

    for tokens in (laptop, phone):
        _assert_revoked(await _reads(api, tokens, document_id))
        refreshed = await api.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401 and refreshed.json()["error_code"] == "INVALID_TOKEN"
    # The new password starts a session that works everywhere.
    fresh = await _login(api, username, "new-password-1")
    answers = await _reads(api, fresh, document_id)
    assert [answers[k].status_code for k in ("me", "document", "list", "upload")] == [200, 200, 200, 202]
    assert answers["list"].json()["total"] == 3  # the refused uploads stored nothing


async def test_logout_ends_that_session_only(api: httpx.AsyncClient) -> None:
    username = await _register(api)
    first = await _login(api, username)
    other = await _login(api, username)
    rotated = (await api.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()

    r = await api.post("/api/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    assert r.status_code == 200 and r.json() == {"success": True, "message": "Logged out", "data": None}
    # The family is gone: the token logged out with, and the one it was rotated from.
    for token in (rotated["refresh_token"], first["refresh_token"]):
        refused = await api.post("/api/auth/refresh", json={"refresh_token": token})
        assert refused.status_code == 401 and refused.json()["error_code"] == "INVALID_TOKEN"
    # Logging out again is not an error; a forged or an access token is.
    assert (await api.post("/api/auth/logout", json={"refresh_token": rotated["refresh_token"]})).status_code == 200
    wrong = await api.post("/api/auth/logout", json={"refresh_token": other["access_token"]})
    assert wrong.status_code == 401 and wrong.json()["error_code"] == "INVALID_TOKEN"
    # The other session is untouched.
    assert (await api.post("/api/auth/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 200
    assert (await api.get("/api/users/me", headers=_bearer(other))).status_code == 200


async def test_logout_all_ends_every_session(api: httpx.AsyncClient) -> None:
    username = await _register(api)
    first, second = await _login(api, username), await _login(api, username)
    r = await api.post("/api/auth/logout-all", headers=_bearer(first))
    assert r.status_code == 200 and r.json()["message"] == "Logged out of every session"
    for tokens in (first, second):
        me = await api.get("/api/users/me", headers=_bearer(tokens))
        assert me.status_code == 401 and me.json()["error_code"] == "TOKEN_REVOKED"
        refreshed = await api.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401
    assert (await api.post("/api/auth/logout-all")).status_code == 401  # needs a (live) access token
    again = await _login(api, username)
    assert (await api.get("/api/users/me", headers=_bearer(again))).status_code == 200


async def _cli(*args: str) -> tuple[int, str]:
    """`python -m fastapi_app ...` as an operator runs it, on this test's database."""
    import sys

    import anyio

    done = await anyio.run_process([sys.executable, "-m", "fastapi_app", *args], check=False, env=dict(os.environ))
    return done.returncode, (done.stdout + done.stderr).decode()


async def test_disabling_an_account_ends_its_sessions(api: httpx.AsyncClient) -> None:
    username = await _register(api)
    tokens = await _login(api, username)
    # The supported way to disable an account (there is no admin API): the command line.
    code, output = await _cli("user", "disable", f"{username.upper()}@EXAMPLE.COM")
    assert code == 0 and f"User {username} disabled; every session of the account has ended." in output
    me = await api.get("/api/users/me", headers=_bearer(tokens))
    assert me.status_code == 403 and me.json()["error_code"] == "INACTIVE_USER"
    refreshed = await api.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert (await api.post("/api/auth/login", data={"username": username, "password": PASSWORD})).status_code == 403

    assert (await _cli("user", "enable", username))[0] == 0
    # Re-enabled: the sessions that ended stay ended; a new login works.
    me = await api.get("/api/users/me", headers=_bearer(tokens))
    assert me.status_code == 401 and me.json()["error_code"] == "TOKEN_REVOKED"
    assert (await api.get("/api/users/me", headers=_bearer(await _login(api, username)))).status_code == 200
    code, output = await _cli("user", "disable", "nobody-of-that-name")
    assert code == 3 and '"error_code": "USER_NOT_FOUND"' in output


async def test_a_login_racing_a_password_change_cannot_keep_a_session(api: httpx.AsyncClient) -> None:
    """A login that read the account before a password change committed writes its refresh token after
    the revocation: that token carries the old token_version and must not start a new chain."""
    from sqlalchemy import select

    from fastapi_app.db.session import async_session_factory
    from fastapi_app.models import User
    from fastapi_app.services import auth_service

    username = await _register(api)
    async with async_session_factory()() as session:
        stale = await session.scalar(select(User).where(User.username == username))
        assert stale is not None
        async with async_session_factory()() as other:
            await auth_service.revoke_all_sessions(other, stale.id)  # the password change, committed first
            await other.commit()
        raced = await auth_service.issue_tokens(session, stale)  # the login, with what it read before
    r = await api.post("/api/auth/refresh", json={"refresh_token": raced.refresh_token})
    assert r.status_code == 401 and r.json()["error_code"] == "INVALID_TOKEN"
    me = await api.get("/api/users/me", headers={"Authorization": f"Bearer {raced.access_token}"})
    assert me.status_code == 401 and me.json()["error_code"] == "TOKEN_REVOKED"


# --- registration does not reveal a registered email (issue 12, 8a) ----------------------------


async def test_registration_answers_alike_for_a_registered_email(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import func, select

    from fastapi_app.db.session import async_session_factory
    from fastapi_app.models import User
    from fastapi_app.services import auth_service

    hashed: list[str] = []
    real_hash = auth_service.hash_password
    monkeypatch.setattr(auth_service, "hash_password", lambda password: hashed.append(password) or real_hash(password))

    owner = await _register(api)
    new_name, copycat_name = f"n_{uuid.uuid4().hex[:10]}", f"c_{uuid.uuid4().hex[:10]}"
    new = await api.post(
        "/api/auth/register",
        json={"username": new_name, "email": f"{new_name}@example.com", "password": "pw-new-123", "full_name": "김"},
    )
    taken = await api.post(
        "/api/auth/register",
        json={
            "username": copycat_name,
            "email": f"{owner.upper()}@Example.com",
            "password": "pw-cat-123",
            "full_name": "김",
        },
    )
    assert new.status_code == taken.status_code == 201
    new_body, taken_body = new.json(), taken.json()
    assert new_body.keys() == taken_body.keys() and new_body["message"] == taken_body["message"] == "User registered"
    assert new_body["data"].keys() == taken_body["data"].keys()
    assert taken_body["data"]["username"] == copycat_name and taken_body["data"]["email"] == f"{owner}@example.com"
    assert taken_body["data"]["is_active"] is True and uuid.UUID(taken_body["data"]["id"])
    # The password was hashed on both paths (the answer takes as long), and nothing was created.
    assert hashed[-2:] == ["pw-new-123", "pw-cat-123"]
    async with async_session_factory()() as session:
        same_email = await session.scalar(select(func.count()).where(User.email == f"{owner}@example.com"))
        copycat = await session.scalar(select(func.count()).where(User.username == copycat_name))
    assert (same_email, copycat) == (1, 0)
    assert (
        await api.get(f"/api/users/{taken_body['data']['id']}", headers=_bearer(await _login(api, owner)))
    ).status_code == 404
    # A taken username is still said: people choosing a name need to know.
    again = await api.post(
        "/api/auth/register", json={"username": owner, "email": "someone-else@example.com", "password": PASSWORD}
    )
    assert again.status_code == 409 and again.json()["error_code"] == "USERNAME_TAKEN"
