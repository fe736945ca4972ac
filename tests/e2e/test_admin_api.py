"""The admin API against the real stack (two uvicorn processes, a Celery worker, PostgreSQL, Redis):
superusers only, account switches that end sessions, everyone's documents, retries the worker runs, and
the operations page reading the real broker and worker."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest
import websockets

from tests.support.client import ApiClient
from tests.support.documents import corrupt_pdf, small_text_pdf
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

# Every admin route. test_every_admin_route_is_listed keeps this in step with the app.
ADMIN_ROUTES = [
    ("GET", "/api/admin/users"),
    ("PATCH", "/api/admin/users/{id}"),
    ("GET", "/api/admin/documents"),
    ("POST", "/api/admin/documents/{id}/retry"),
    ("GET", "/api/admin/operations"),
]


def _superuser(stack: Stack) -> ApiClient:
    """A new superuser, made the way an operator does (`init_db.py --create-superuser`), logged in."""
    name = f"admin_{uuid.uuid4().hex[:8]}"
    password = "admin-password-1"
    subprocess.run(
        [sys.executable, "init_db.py", "--create-superuser", name, f"{name}@example.com"],
        cwd=ROOT,
        env={**stack.env, "FIRST_SUPERUSER_PASSWORD": password},
        check=True,
        capture_output=True,
        timeout=120,
    )
    api = ApiClient(stack.base_url)
    login = api.http.post("/api/auth/login", data={"username": name, "password": password})
    assert login.status_code == 200, login.text
    api.token = login.json()["access_token"]
    return api


@pytest.fixture
def admin(live_stack: Stack) -> ApiClient:
    return _superuser(live_stack)


async def _open_ws(base_url: str, token: str) -> Any:
    ws = await websockets.connect(base_url.replace("http://", "ws://") + f"/ws?token={token}")
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
    return ws


async def _close_of(ws: Any, timeout: float = 10.0) -> tuple[int | None, str]:
    """The close code and reason the server sent within `timeout` (the live stack's periodic session check
    runs every 600 s: a close this soon came from the deactivation itself)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
    except TimeoutError:
        await ws.close()
        raise AssertionError(f"the WebSocket was still open {timeout} s later") from None


def _call(client: httpx.Client | ApiClient, method: str, path: str) -> httpx.Response:
    path = path.replace("{id}", str(uuid.uuid4()))
    body = {"json": {"is_active": True}} if method == "PATCH" else {}
    return client.request(method, path, **body)


def test_every_admin_route_is_listed() -> None:
    from fastapi_app.main import create_app

    paths = create_app().openapi()["paths"]
    unversioned = {path: path.replace("/api/v1/", "/api/") for path in paths}
    routes = {
        (method.upper(), unversioned[path].replace("{user_id}", "{id}").replace("{document_id}", "{id}"))
        for path, operations in paths.items()
        if path.startswith("/api/v1/admin")
        for method in operations
    }
    assert routes == set(ADMIN_ROUTES)


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p in ADMIN_ROUTES])
def test_admin_routes_refuse_everyone_but_superusers(
    live_stack: Stack, client: ApiClient, method: str, path: str
) -> None:
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as anonymous:
        r = _call(anonymous, method, path)
    assert r.status_code == 401, r.text
    assert r.json()["error_code"] == "NOT_AUTHENTICATED"
    r = _call(client, method, path)
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == "SUPERUSER_REQUIRED"


def test_deactivating_a_user_ends_their_sessions(live_stack: Stack, admin: ApiClient) -> None:
    user = ApiClient(live_stack.base_url)
    account = user.register_and_login()
    user_id = account["user"]["id"]
    listed = admin.get("/api/admin/users", params={"search": account["username"]}).json()
    assert listed["total"] == 1
    assert listed["data"][0] == {
        "id": user_id,
        "username": account["username"],
        "email": f"{account['username']}@example.com",
        "full_name": None,
        "is_active": True,
        "is_superuser": False,
        "created_at": account["user"]["created_at"],
        "document_count": 0,
        "storage_bytes": 0,
        "documents_today": 0,
        # The live stack sets no quota default: no override, and unlimited.
        "quota_documents_per_day": None,
        "quota_storage_bytes": None,
        "documents_per_day_limit": None,
        "storage_bytes_limit": None,
    }
    assert user.upload_bytes(small_text_pdf(), "a.pdf").status_code == 202

    async def deactivate_while_connected() -> tuple[httpx.Response, list[tuple[int | None, str]]]:
        # A WebSocket on each API process: both are closed with 4401 once the admin switches the account off.
        sockets = [
            await _open_ws(url, account["access_token"]) for url in (live_stack.base_url, live_stack.url("uvicorn-b"))
        ]
        response = await asyncio.to_thread(
            admin.request, "PATCH", f"/api/admin/users/{user_id}", json={"is_active": False}
        )
        return response, [await _close_of(ws) for ws in sockets]

    r, closes = asyncio.run(deactivate_while_connected())
    assert r.status_code == 200, r.text
    assert closes == [(4401, "account disabled")] * 2
    assert r.json()["data"]["is_active"] is False
    assert (r.json()["data"]["document_count"], r.json()["data"]["storage_bytes"]) == (1, len(small_text_pdf()))

    # On both API processes: the access token is refused, the refresh token too, and so is a new login.
    for base_url in (live_stack.base_url, live_stack.url("uvicorn-b")):
        me = httpx.get(f"{base_url}/api/users/me", headers=user.headers)
        assert (me.status_code, me.json()["error_code"]) == (403, "INACTIVE_USER")
    refresh = httpx.post(f"{live_stack.base_url}/api/auth/refresh", json={"refresh_token": account["refresh_token"]})
    assert refresh.status_code == 401 and refresh.json()["error_code"] == "INVALID_TOKEN"
    login = httpx.post(
        f"{live_stack.base_url}/api/auth/login", data={"username": account["username"], "password": account["password"]}
    )
    assert (login.status_code, login.json()["error_code"]) == (403, "INACTIVE_USER")
    inactive = admin.get("/api/admin/users", params={"is_active": "false", "search": account["username"]}).json()
    assert [u["id"] for u in inactive["data"]] == [user_id]

    # Switched on again, the account logs in; the old tokens stay dead (the session version moved on).
    assert admin.request("PATCH", f"/api/admin/users/{user_id}", json={"is_active": True}).json()["data"]["is_active"]
    assert httpx.get(f"{live_stack.base_url}/api/users/me", headers=user.headers).status_code == 401
    login = httpx.post(
        f"{live_stack.base_url}/api/auth/login", data={"username": account["username"], "password": account["password"]}
    )
    assert login.status_code == 200


def test_granting_superuser_opens_the_admin_api(live_stack: Stack, admin: ApiClient, client: ApiClient) -> None:
    me = client.get("/api/users/me").json()["data"]
    assert client.get("/api/admin/users").status_code == 403
    r = admin.request("PATCH", f"/api/admin/users/{me['id']}", json={"is_superuser": True})
    assert r.status_code == 200 and r.json()["data"]["is_superuser"] is True
    # The same token, at once: the check reads the account on each request.
    listed = client.get("/api/admin/users", params={"search": me["username"], "is_superuser": "true"})
    assert listed.status_code == 200 and [u["id"] for u in listed.json()["data"]] == [me["id"]]
    r = admin.request("PATCH", f"/api/admin/users/{me['id']}", json={"is_superuser": False})
    assert r.json()["data"]["is_superuser"] is False
    assert client.get("/api/admin/users").json()["error_code"] == "SUPERUSER_REQUIRED"


def test_a_superuser_cannot_demote_or_deactivate_themself(admin: ApiClient) -> None:
    me = admin.get("/api/users/me").json()["data"]
    for change in ({"is_superuser": False}, {"is_active": False}, {"is_active": False, "is_superuser": True}):
        r = admin.request("PATCH", f"/api/admin/users/{me['id']}", json=change)
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] == "CANNOT_CHANGE_OWN_ACCOUNT"
    after = admin.get("/api/users/me").json()["data"]
    assert (after["is_active"], after["is_superuser"]) == (True, True)
    # What changes nothing is allowed.
    assert admin.request("PATCH", f"/api/admin/users/{me['id']}", json={"is_active": True}).status_code == 200
    unknown = admin.request("PATCH", f"/api/admin/users/{uuid.uuid4()}", json={"is_active": False})
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "USER_NOT_FOUND")
    extra = admin.request("PATCH", f"/api/admin/users/{me['id']}", json={"username": "root"})
    assert extra.status_code == 422


def test_failed_documents_come_first_and_an_admin_retry_runs_again(admin: ApiClient, client: ApiClient) -> None:
    owner = client.get("/api/users/me").json()["data"]
    broken = client.upload_bytes(corrupt_pdf(), "broken.pdf").json()["data"]["id"]
    assert client.wait_for(broken)["status"] == "failed"
    fine = client.upload_bytes(small_text_pdf(), "fine.pdf").json()["data"]["id"]
    assert client.wait_for(fine)["status"] == "completed"

    listed = admin.get("/api/admin/documents", params={"owner": owner["username"]}).json()
    assert listed["total"] == 2
    first, second = listed["data"]
    # The failed one first, although it is the older.
    assert (first["id"], first["status"], first["error_code"]) == (broken, "failed", "CORRUPT_FILE")
    assert first["error_message"] and first["attempts"] == 1
    assert (first["owner_id"], first["owner_username"]) == (owner["id"], owner["username"])
    assert (second["id"], second["status"], second["error_code"]) == (fine, "completed", None)
    by_id = admin.get("/api/admin/documents", params={"owner": owner["id"], "status": "failed"}).json()
    assert [d["id"] for d in by_id["data"]] == [broken]
    by_name = admin.get("/api/admin/documents", params={"search": "fine.pdf", "owner": owner["username"]}).json()
    assert [d["id"] for d in by_name["data"]] == [fine]

    r = admin.post(f"/api/admin/documents/{broken}/retry")
    assert r.status_code == 202, r.text
    queued = r.json()["data"]
    assert (queued["status"], queued["current_run"], queued["error_code"]) == ("pending", 2, None)
    assert queued["owner_username"] == owner["username"]
    # The worker runs it again: the same file fails again, with the same code, in run 2.
    again = client.wait_for(broken)
    assert (again["status"], again["error_code"], again["current_run"]) == ("failed", "CORRUPT_FILE", 2)
    # A completed document of someone else can be run again too.
    assert admin.post(f"/api/admin/documents/{fine}/retry").status_code == 202
    assert client.wait_for(fine)["current_run"] == 2

    missing = admin.post(f"/api/admin/documents/{uuid.uuid4()}/retry")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "DOCUMENT_NOT_FOUND")


def test_operations_reads_the_real_broker_and_worker(live_stack: Stack, admin: ApiClient) -> None:
    r = admin.get("/api/admin/operations", params={"hours": 6})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    queues = {q["name"]: q["depth"] for q in data["queues"]}
    assert set(queues) == {live_stack.env["CELERY_QUEUE"], live_stack.env["CELERY_WEBHOOK_QUEUE"]}
    assert all(isinstance(depth, int) and depth >= 0 for depth in queues.values())
    workers = [w for w in data["workers"] if w["name"].startswith("worker-")]
    assert workers, data["workers"]
    assert all(w["alive"] is True and isinstance(w["active"], int) for w in workers)
    assert all(isinstance(w["processed"], int) and w["concurrency"] == 2 for w in workers)
    assert data["broker"] == {"kind": "redis", "url_redacted": live_stack.env["CELERY_BROKER_URL"], "reachable": True}
    assert len(data["throughput"]) == 6
    assert data["totals"]["users"] >= 1 and data["totals"]["documents"] == sum(data["totals"]["by_status"].values())
    assert data["storage"]["backend"] == "local" and data["storage"]["disk_total_bytes"] > 0
    assert data["links"] == {"flower": None, "metrics": "/metrics"}
