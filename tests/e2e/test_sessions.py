"""Sessions against the real stack: two uvicorn processes on PostgreSQL and Redis (and the embedded
defaults without Redis). A session ended through one API process is refused by the other on the very
next request, and the account's WebSockets are closed with 4401 wherever they are.

The live stack runs with WS_SESSION_CHECK_SECONDS=600 (tests/support/stack.py): a socket closed within
seconds was closed by the sessions_ended message relayed over Redis, not by the periodic check.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
import websockets
from sqlalchemy import make_url

from fastapi_app.core.security import jwt_signing_key
from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

SESSION_ENDED = 4401
CLOSE_WITHIN_S = 10.0  # far below the live stack's periodic check (600 s)


def _ws_url(base_url: str, token: str) -> str:
    return base_url.replace("http://", "ws://") + f"/ws?token={token}"


def _login(base_url: str, username: str, password: str) -> dict[str, Any]:
    r = httpx.post(f"{base_url}/api/auth/login", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _reads(base_url: str, tokens: dict[str, Any], document_id: str) -> dict[str, httpx.Response]:
    auth = _bearer(tokens)
    return {
        "me": httpx.get(f"{base_url}/api/users/me", headers=auth),
        "document": httpx.get(f"{base_url}/api/documents/{document_id}", headers=auth),
        "list": httpx.get(f"{base_url}/api/documents/", headers=auth),
    }


def _assert_refused(answers: dict[str, httpx.Response], status: int, error_code: str) -> None:
    for path, r in answers.items():
        assert r.status_code == status, (path, r.status_code, r.text)
        assert r.json()["error_code"] == error_code, (path, r.text)


async def _open(base_url: str, token: str) -> Any:
    ws = await websockets.connect(_ws_url(base_url, token))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
    return ws


async def _close_of(ws: Any, timeout: float = CLOSE_WITHIN_S) -> tuple[int | None, str, float]:
    """The close code and reason the server sent, and when (monotonic) it arrived."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.01))
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason, time.monotonic()) if closed.rcvd else (None, "", time.monotonic())
    except TimeoutError:
        await ws.close()
        raise AssertionError(f"the WebSocket was still open {timeout} s later") from None


@pytest.fixture
def account(live_stack: Stack) -> dict[str, Any]:
    """A user with one document, and two sessions: one logged in through each API process."""
    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    upload = api.upload_bytes(small_text_pdf(), "s.pdf")
    assert upload.status_code == 202, upload.text
    other = _login(live_stack.url("uvicorn-b"), account["username"], account["password"])
    return {**account, "api": api, "document_id": upload.json()["data"]["id"], "other": other}


def test_password_change_through_one_process_ends_sessions_in_the_other(
    live_stack: Stack, account: dict[str, Any]
) -> None:
    a, b = live_stack.base_url, live_stack.url("uvicorn-b")
    sessions = [account, account["other"]]
    # Both tokens verified by process B (its verified-token cache holds them) on every read path.
    for tokens in sessions:
        assert {r.status_code for r in _reads(b, tokens, account["document_id"]).values()} == {200}

    async def scenario() -> list[tuple[int | None, str, float]]:
        sockets = [await _open(b, account["access_token"]), await _open(a, account["other"]["access_token"])]
        changed = await asyncio.to_thread(
            httpx.put,
            f"{a}/api/users/profile",
            json={"current_password": account["password"], "new_password": "a-new-password-1"},
            headers=_bearer(account),
        )
        assert changed.status_code == 200, changed.text
        # The very next requests, on the other process: refused.
        for tokens in sessions:
            _assert_refused(await asyncio.to_thread(_reads, b, tokens, account["document_id"]), 401, "TOKEN_REVOKED")
            refreshed = await asyncio.to_thread(
                httpx.post, f"{b}/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert refreshed.status_code == 401 and refreshed.json()["error_code"] == "INVALID_TOKEN"
        return [await _close_of(ws) for ws in sockets]

    closes = asyncio.run(scenario())
    # The socket on B heard it from A through Redis; the one on A from its own hub.
    assert [(code, reason) for code, reason, _ in closes] == [(SESSION_ENDED, "password changed")] * 2
    fresh = _login(b, account["username"], "a-new-password-1")
    assert {r.status_code for r in _reads(a, fresh, account["document_id"]).values()} == {200}


def test_logout_all_through_one_process_ends_sessions_in_the_other(live_stack: Stack, account: dict[str, Any]) -> None:
    a, b = live_stack.base_url, live_stack.url("uvicorn-b")
    for tokens in (account, account["other"]):
        assert {r.status_code for r in _reads(a, tokens, account["document_id"]).values()} == {200}

    async def scenario() -> tuple[int | None, str, float]:
        ws = await _open(a, account["access_token"])
        r = await asyncio.to_thread(httpx.post, f"{b}/api/auth/logout-all", headers=_bearer(account["other"]))
        assert r.status_code == 200 and r.json()["success"] is True, r.text
        for tokens in (account, account["other"]):
            _assert_refused(await asyncio.to_thread(_reads, a, tokens, account["document_id"]), 401, "TOKEN_REVOKED")
            refreshed = await asyncio.to_thread(
                httpx.post, f"{a}/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert refreshed.status_code == 401
        return await _close_of(ws)

    code, reason, _ = asyncio.run(scenario())
    assert (code, reason) == (SESSION_ENDED, "logged out everywhere")


def test_logout_and_refresh_reuse_across_processes(live_stack: Stack, account: dict[str, Any]) -> None:
    a, b = live_stack.base_url, live_stack.url("uvicorn-b")
    # Rotation on A, the used token presented again on B: refused, and the whole family revoked.
    rotated = httpx.post(f"{a}/api/auth/refresh", json={"refresh_token": account["refresh_token"]})
    assert rotated.status_code == 200
    reused = httpx.post(f"{b}/api/auth/refresh", json={"refresh_token": account["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["error_code"] == "INVALID_TOKEN"
    successor = httpx.post(f"{a}/api/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]})
    assert successor.status_code == 401 and successor.json()["error_code"] == "INVALID_TOKEN"
    # Logout on A of the other session: its refresh token is refused on B; the first session's rotated
    # access token (another family) is not affected by that logout.
    out = httpx.post(f"{a}/api/auth/logout", json={"refresh_token": account["other"]["refresh_token"]})
    assert out.status_code == 200 and out.json() == {"success": True, "message": "Logged out", "data": None}
    refused = httpx.post(f"{b}/api/auth/refresh", json={"refresh_token": account["other"]["refresh_token"]})
    assert refused.status_code == 401 and refused.json()["error_code"] == "INVALID_TOKEN"
    assert httpx.get(f"{b}/api/users/me", headers=_bearer(rotated.json())).status_code == 200


def test_websocket_is_closed_when_its_token_expires(live_stack: Stack, account: dict[str, Any]) -> None:
    # A token like the service's, living a few seconds (the stack's lifetime is an hour).
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=3)
    claims = {"sub": account["user"]["id"], "type": "access", "jti": uuid.uuid4().hex, "iat": now, "exp": expires}
    token = jwt.encode({**claims, "ver": 0}, jwt_signing_key(live_stack.env["SECRET_KEY"]), algorithm="HS256")

    async def scenario() -> tuple[dict[str, Any], tuple[int | None, str, float], float]:
        ws = await _open(live_stack.url("uvicorn-b"), token)
        await ws.send(json.dumps({"type": "ping"}))
        pong = json.loads(await asyncio.wait_for(ws.recv(), 5))  # open and serving before the expiry
        expires_monotonic = time.monotonic() + (expires - datetime.now(UTC)).total_seconds()
        return pong, await _close_of(ws), expires_monotonic

    pong, (code, reason, closed_at), expires_monotonic = asyncio.run(scenario())
    assert pong["type"] == "pong"
    assert (code, reason) == (SESSION_ENDED, "token expired")
    assert closed_at >= expires_monotonic - 1.0  # not before the token expired (1 s for the clocks' rounding)


async def _end_sessions_unannounced(stack: Stack, username: str) -> None:
    """Raise the account's token_version in the database only, as a row edited by hand: no sessions_ended
    message, so only the checks that read the account can notice."""
    dsn = make_url(stack.env["DATABASE_URL"]).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("UPDATE users SET token_version = token_version + 1 WHERE username = $1", username)
    finally:
        await connection.close()


def test_a_websocket_whose_session_ended_cannot_follow_a_document(live_stack: Stack, account: dict[str, Any]) -> None:
    """The WebSocket asks the same account and ownership rule as the REST read of the document: once the
    token's session has ended, subscribing is refused the way the hub's session check would refuse it
    (closed with 4401), not granted until that check comes round (600 s on the live stack)."""
    document_id = account["document_id"]
    subscribe = json.dumps({"type": "subscribe", "document_id": document_id})

    async def scenario() -> tuple[int | None, str, float]:
        ws = await _open(live_stack.base_url, account["access_token"])
        await ws.send(subscribe)
        while (message := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] != "subscribed":
            assert message["type"].startswith("document_"), message  # the document's own events may come first
        assert message == {"type": "subscribed", "document_id": document_id}
        await _end_sessions_unannounced(live_stack, account["username"])
        await ws.send(subscribe)
        return await _close_of(ws)

    code, reason, _ = asyncio.run(scenario())
    assert (code, reason) == (SESSION_ENDED, "session ended")
    _assert_refused(_reads(live_stack.base_url, account, document_id), 401, "TOKEN_REVOKED")


def _disable(stack: Stack, username: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fastapi_app", "user", "disable", username],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"User {username} disabled" in done.stdout


def test_disabling_the_account_closes_its_websockets_on_every_process(
    live_stack: Stack, account: dict[str, Any]
) -> None:
    a, b = live_stack.base_url, live_stack.url("uvicorn-b")

    async def scenario() -> list[tuple[int | None, str, float]]:
        sockets = [await _open(a, account["access_token"]), await _open(b, account["other"]["access_token"])]
        await asyncio.to_thread(_disable, live_stack, account["username"])  # an operator's command, over Redis
        return [await _close_of(ws) for ws in sockets]

    closes = asyncio.run(scenario())
    assert [(code, reason) for code, reason, _ in closes] == [(SESSION_ENDED, "account disabled")] * 2
    _assert_refused(_reads(b, account, account["document_id"]), 403, "INACTIVE_USER")
    refreshed = httpx.post(f"{a}/api/auth/refresh", json={"refresh_token": account["other"]["refresh_token"]})
    assert refreshed.status_code == 401


def test_disabling_without_redis_closes_the_websocket_by_the_periodic_check(embedded_stack: Stack) -> None:
    """The embedded defaults: no Redis, and the command runs in another process than the API; the API's
    hub finds the disabled account when it re-reads its connected accounts (WS_SESSION_CHECK_SECONDS=1)."""
    api = ApiClient(embedded_stack.base_url)
    account = api.register_and_login()

    async def scenario() -> tuple[int | None, str, float]:
        ws = await _open(embedded_stack.base_url, account["access_token"])
        await asyncio.to_thread(_disable, embedded_stack, account["username"])
        return await _close_of(ws)

    code, reason, _ = asyncio.run(scenario())
    assert (code, reason) == (SESSION_ENDED, "account disabled")
    me = api.get("/api/users/me")
    assert me.status_code == 403 and me.json()["error_code"] == "INACTIVE_USER"
