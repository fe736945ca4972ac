"""OWASP API Security Top 10 against the live stack (two uvicorn instances, PostgreSQL, Redis).

Where a setting must differ from the shared stack's (strict per-address limits), the app runs
in-process on the same kind of PostgreSQL and Redis instead.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from fastapi import FastAPI
from websockets.sync.client import connect as ws_connect

from fastapi_app.core.security import jwt_signing_key
from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

ID_PARAMS = ("document_id", "report_id", "user_id", "batch_id")
# Path parameters that are not object ids (a page of a document): a value that exists for alice's object.
NUMBER_PARAMS = {"page": 1}
ALLOWED_ORIGIN = "https://app.example.com"  # CORS_ORIGINS in tests/support/stack.py


@pytest.fixture(scope="module")
def alice(live_stack: Stack) -> Iterator[dict[str, Any]]:
    """A user with one processed document and its report: the objects everyone else must not reach."""
    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    r = api.upload_bytes(small_text_pdf(), "alice.pdf")
    assert r.status_code == 202, r.text
    document_id = r.json()["data"]["id"]
    assert api.wait_for(document_id)["status"] == "completed"
    reports = api.get(f"/api/documents/{document_id}/reports").json()["data"]
    batch = api.post("/api/documents/batch", files=[("files", ("alice-batch.csv", b"a,b\n1,2\n"))])
    assert batch.status_code == 202, batch.text
    yield {
        "api": api,
        "account": account,
        "document_id": document_id,
        "report_id": reports[0]["id"],
        "user_id": account["user"]["id"],
        "batch_id": batch.json()["data"]["batch_id"],
    }
    api.http.close()


# --- API1 broken object level authorization ----------------------------------------------------


def test_every_object_route_is_404_for_another_user(
    live_stack: Stack, alice: dict[str, Any], client: ApiClient
) -> None:
    schema = httpx.get(f"{live_stack.base_url}/openapi.json").json()
    checked: list[str] = []
    for template, operations in schema["paths"].items():
        if template.startswith("/api/v1/admin/"):
            continue  # superusers only (403 for everyone else): tests/e2e/test_admin_api.py
        params = [p for p in re.findall(r"\{(\w+)\}", template) if p not in NUMBER_PARAMS]
        if not params or not set(params) <= set(ID_PARAMS):
            assert not params, f"{template}: a new kind of object id; add it to ID_PARAMS and to alice"
            continue
        path = template.format(**{p: alice[p] for p in params}, **NUMBER_PARAMS)
        for method in operations:
            r = client.request(method.upper(), path)
            assert r.status_code == 404, f"{method.upper()} {template} as another user: {r.status_code} {r.text[:200]}"
            assert r.json()["error_code"] in {
                "DOCUMENT_NOT_FOUND",
                "REPORT_NOT_FOUND",
                "USER_NOT_FOUND",
                "BATCH_NOT_FOUND",
            }
            checked.append(f"{method.upper()} {template}")
    # Sanity: the schema walk found the routes we know of (and any new ones since).
    assert "DELETE /api/v1/documents/{document_id}" in checked and "GET /api/v1/users/{user_id}" in checked
    assert "GET /api/v1/batches/{batch_id}/report" in checked
    assert len(checked) >= 10, checked
    # The owner still has everything: the refused DELETE and reprocess did nothing.
    owner = alice["api"]
    r = owner.get(f"/api/documents/{alice['document_id']}")
    assert r.status_code == 200 and r.json()["data"]["status"] == "completed"


def test_websocket_subscribe_to_another_users_document_is_refused(
    live_stack: Stack, alice: dict[str, Any], client: ApiClient
) -> None:
    url = live_stack.base_url.replace("http://", "ws://") + f"/ws?token={client.token}"
    with ws_connect(url, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        ws.send(json.dumps({"type": "subscribe", "document_id": alice["document_id"]}))
        reply = json.loads(ws.recv(timeout=10))
    assert reply["type"] == "error" and reply["error_code"] == "DOCUMENT_NOT_FOUND"


# --- API2 broken authentication ----------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_and_stale_tokens_are_401(live_stack: Stack, alice: dict[str, Any], postgres_url: str) -> None:
    secret = live_stack.env["SECRET_KEY"]
    account = alice["account"]
    header, payload, signature = account["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    now = datetime.now(UTC)

    victim = ApiClient(live_stack.base_url)
    gone = victim.register_and_login()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (gone["user"]["id"],))

    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "alg none, no dot": jwt.encode(claims, None, algorithm="none").rstrip("."),
        "tampered payload": f"{header}.{_b64({**claims, 'sub': str(uuid.uuid4())})}.{signature}",
        "other key": jwt.encode(claims, "not-the-servers-secret-0123456789abcdef", algorithm="HS256"),
        "expired": jwt.encode(
            {**claims, "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)},
            jwt_signing_key(secret),
            algorithm="HS256",
        ),
        # Signed with SECRET_KEY itself, as before the keys were derived with HKDF.
        "raw SECRET_KEY": jwt.encode(claims, secret, algorithm="HS256"),
        "refresh as access": account["refresh_token"],
        "deleted user": gone["access_token"],
        "garbage": "not.a.jwt",
    }
    for name, token in forged.items():
        r = httpx.get(f"{live_stack.base_url}/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, f"{name}: {r.status_code} {r.text[:200]}"
        assert r.json()["error_code"] in {"INVALID_TOKEN", "TOKEN_EXPIRED"}, name
    r = httpx.get(f"{live_stack.base_url}/api/users/me", headers={"Authorization": f"Bearer {account['access_token']}"})
    assert r.status_code == 200  # the genuine token still works: the 401s were about the forgeries


# --- API4 unrestricted resource consumption: rate limits ---------------------------------------


def test_login_limit_per_account_is_shared_by_both_instances(live_stack: Stack) -> None:
    """RATE_LIMIT_LOGIN_ACCOUNT=20/minute on the stack. Every attempt from another address (many
    addresses must not brute-force one account), alternating between the two API instances."""
    limit = int(live_stack.env["RATE_LIMIT_LOGIN_ACCOUNT"].split("/")[0])
    username = f"rl_target_{uuid.uuid4().hex[:8]}"
    urls = [live_stack.base_url, live_stack.url("uvicorn-b")]
    for attempt in range(limit):
        r = httpx.post(
            f"{urls[attempt % 2]}/api/auth/login",
            data={"username": username, "password": f"guess-{attempt}"},
            headers={"X-Forwarded-For": f"198.51.100.{attempt + 1}"},
        )
        assert r.status_code == 401, (attempt, r.text)
    for url in urls:
        r = httpx.post(
            f"{url}/api/auth/login",
            data={"username": username.upper(), "password": "one-more"},  # case does not escape the count
            headers={"X-Forwarded-For": "198.51.100.250"},
        )
        assert r.status_code == 429, r.text
        body = r.json()
        assert body["error_code"] == "RATE_LIMITED" and body["success"] is False
        assert body["details"]["limit"] == live_stack.env["RATE_LIMIT_LOGIN_ACCOUNT"]
        assert 1 <= body["details"]["retry_after"] <= 60
        assert r.headers["Retry-After"] == str(body["details"]["retry_after"])
    # Another account is unaffected.
    r = httpx.post(f"{urls[0]}/api/auth/login", data={"username": f"{username}_other", "password": "x"})
    assert r.status_code == 401


@pytest.fixture
async def strict_app(postgres_app_env: str) -> AsyncIterator[FastAPI]:
    from fastapi_app.core.config import Settings
    from fastapi_app.core.ratelimit import Limiter
    from fastapi_app.main import create_app

    app = create_app()
    app.state.limiter = Limiter(
        Settings(
            RATE_LIMITS_ENABLED=True,  # whatever the in-process test environment says
            RATE_LIMIT_LOGIN="5/minute",
            RATE_LIMIT_LOGIN_ACCOUNT="1000/minute",
            RATE_LIMIT_REGISTER="3/minute",
            RATE_LIMIT_UPLOAD="2/minute",
            RATE_LIMIT_UPLOAD_IP="1000/minute",
        )
    )
    assert type(app.state.limiter.storage).__name__ == "RedisStorage"  # the in-process Redis
    yield app


def _from(app: FastAPI, peer: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(peer, 5555)), base_url="http://t")


def _fresh_ip() -> str:
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"  # a budget of this test's own


async def test_login_and_register_limits_per_address(strict_app: FastAPI) -> None:
    ip = _fresh_ip()
    async with _from(strict_app, ip) as api:
        for i in range(3):
            name = f"rl_{uuid.uuid4().hex[:10]}"
            r = await api.post(
                "/api/auth/register", json={"username": name, "email": f"{name}@example.com", "password": "pw-12345678"}
            )
            assert r.status_code == 201, (i, r.text)
        r = await api.post("/api/auth/register", json={"username": "x", "email": "x@example.com", "password": "p"})
        assert r.status_code == 429 and r.json()["error_code"] == "RATE_LIMITED" and "retry-after" in r.headers

        # One address trying many accounts.
        for i in range(5):
            r = await api.post("/api/auth/login", data={"username": f"nobody{i}", "password": "x"})
            assert r.status_code == 401, (i, r.text)
        r = await api.post("/api/auth/login", data={"username": "nobody-else", "password": "x"})
        assert r.status_code == 429 and r.json()["details"] == {
            "limit": "5/minute",
            "retry_after": r.json()["details"]["retry_after"],
        }
    async with _from(strict_app, _fresh_ip()) as elsewhere:
        r = await elsewhere.post("/api/auth/login", data={"username": "nobody0", "password": "x"})
        assert r.status_code == 401  # another address has its own budget


async def test_failed_logins_from_one_address_do_not_lock_the_account_out(postgres_app_env: str) -> None:
    """Issue 12, 8b: failing logins on purpose from one address used to exhaust the account's own limit
    (10/minute), locking its owner out everywhere. Now one address is throttled at one account, under a
    higher ceiling for the account over all addresses."""
    from fastapi_app.core.config import Settings
    from fastapi_app.core.ratelimit import Limiter
    from fastapi_app.main import create_app

    app = create_app()
    app.state.limiter = Limiter(
        Settings(
            RATE_LIMITS_ENABLED=True,
            RATE_LIMIT_LOGIN="1000/minute",
            RATE_LIMIT_LOGIN_ACCOUNT_IP="3/minute",
            RATE_LIMIT_LOGIN_ACCOUNT="6/minute",
        )
    )
    owner = f"rl_owner_{uuid.uuid4().hex[:8]}"
    async with _from(app, _fresh_ip()) as attacker, _from(app, _fresh_ip()) as owner_api:
        r = await owner_api.post(
            "/api/auth/register", json={"username": owner, "email": f"{owner}@example.com", "password": "pw-12345678"}
        )
        assert r.status_code == 201, r.text
        for attempt in range(3):
            r = await attacker.post("/api/auth/login", data={"username": owner, "password": f"guess-{attempt}"})
            assert r.status_code == 401 and r.json()["error_code"] == "INVALID_CREDENTIALS", (attempt, r.text)
        for _ in range(3):  # the attacker's address is stopped at this account, and stays stopped
            r = await attacker.post("/api/auth/login", data={"username": owner.upper(), "password": "again"})
            assert r.status_code == 429 and r.json()["details"]["limit"] == "3/minute", r.text
        # The owner, from their own address, still logs in; the attacker's refused attempts were not
        # counted against the account.
        r = await owner_api.post("/api/auth/login", data={"username": owner, "password": "pw-12345678"})
        assert r.status_code == 200 and r.json()["token_type"] == "bearer", r.text
        # The attacker's address is free for other accounts (the per-address limit is its own).
        r = await attacker.post("/api/auth/login", data={"username": f"{owner}_other", "password": "x"})
        assert r.status_code == 401
    # Many addresses at one account: the per-account ceiling (3 + 1 counted so far) still holds.
    for _ in range(2):
        async with _from(app, _fresh_ip()) as elsewhere:
            r = await elsewhere.post("/api/auth/login", data={"username": owner, "password": "guess"})
            assert r.status_code == 401, r.text
    async with _from(app, _fresh_ip()) as elsewhere:
        r = await elsewhere.post("/api/auth/login", data={"username": owner, "password": "pw-12345678"})
        assert r.status_code == 429 and r.json()["details"]["limit"] == "6/minute", r.text


async def test_upload_limit_per_user_counts_before_reading_the_body(strict_app: FastAPI) -> None:
    async with _from(strict_app, _fresh_ip()) as api:
        name = f"rl_{uuid.uuid4().hex[:10]}"
        await api.post(
            "/api/auth/register", json={"username": name, "email": f"{name}@example.com", "password": "pw-12345678"}
        )
        token = (await api.post("/api/auth/login", data={"username": name, "password": "pw-12345678"})).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        for _ in range(2):
            r = await api.post("/api/documents/upload", files={"file": ("e.pdf", b"")}, headers=auth)
            assert r.status_code == 400 and r.json()["error_code"] == "EMPTY_FILE"
        r = await api.post("/api/documents/upload", files={"file": ("e.pdf", b"")}, headers=auth)
        assert r.status_code == 429 and r.json()["error_code"] == "RATE_LIMITED"
        # Unauthenticated uploads are refused before they can spend anyone's budget.
        r = await api.post("/api/documents/upload", files={"file": ("e.pdf", b"")})
        assert r.status_code == 401


async def test_rate_limits_fail_open_when_redis_is_down(postgres_app_env: str) -> None:
    from fastapi_app.core.config import Settings
    from fastapi_app.core.ratelimit import Limiter
    from fastapi_app.main import create_app

    app = create_app()
    app.state.limiter = Limiter(
        Settings(REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMITS_ENABLED=True, RATE_LIMIT_LOGIN="1/minute")
    )
    async with _from(app, _fresh_ip()) as api:
        started = time.monotonic()
        for _ in range(3):
            r = await api.post("/api/auth/login", data={"username": "nobody", "password": "x"})
            assert r.status_code == 401, r.text
        assert time.monotonic() - started < 5  # one short connect timeout, then Redis is not asked again


# --- API3 broken object property level authorization: mass assignment ---------------------------


def test_profile_update_cannot_escalate(client: ApiClient) -> None:
    me = client.get("/api/users/me").json()["data"]
    r = client.request(
        "PUT",
        "/api/users/profile",
        json={
            "full_name": "Mallory",
            "is_superuser": True,
            "is_active": True,
            "id": str(uuid.uuid4()),
            "username": "admin",
            "hashed_password": "x",
        },
    )
    assert r.status_code in {200, 422}, r.text
    after = client.get("/api/users/me").json()["data"]
    assert after["is_superuser"] is False
    assert after["id"] == me["id"] and after["username"] == me["username"]
    # Superuser powers would show here: another user's profile stays hidden.
    assert client.get(f"/api/users/{uuid.uuid4()}").status_code == 404


# --- API8 security misconfiguration --------------------------------------------------------------


def test_error_responses_never_leak_internals(live_stack: Stack, client: ApiClient) -> None:
    probes = [
        client.post("/api/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}),
        client.post(
            "/api/auth/login", content=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        client.get("/api/documents/", params={"page": "9" * 400}),
        client.get("/api/documents/", params={"date_from": "31/31/31"}),
        client.get("/api/documents/%00"),
        client.get("/api/documents/../../etc/passwd"),
        client.post(
            "/api/documents/upload", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}
        ),
        client.request("PUT", "/api/users/profile", json={"email": ["a"]}),
        client.request("PATCH", "/api/users/me"),
        client.get(f"/api/documents/{uuid.uuid4()}/reports/{uuid.uuid4()}/download", params={"format": "exe"}),
        client.post("/api/auth/refresh", json={"refresh_token": "x" * 10_000}),
        client.post("/api/reports/summary", json={"document_ids": ["not-a-uuid"] * 3}),
    ]
    for r in probes:
        assert r.status_code < 500, (r.request.url, r.status_code, r.text[:300])
        assert r.json()["success"] is False
        for leak in ("Traceback", 'File "', "/site-packages/", "fastapi_app/", "sqlalchemy", "asyncpg"):
            assert leak not in r.text, (r.request.url, leak, r.text[:300])


def test_security_headers_on_the_live_server(live_stack: Stack, client: ApiClient) -> None:
    for r in (
        client.get("/api/users/me"),
        client.get("/api/documents/nope"),
        httpx.get(f"{live_stack.base_url}/health"),
    ):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cross-origin-opener-policy"] == "same-origin"
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "strict-transport-security" not in r.headers
    for page in ("/docs", "/redoc"):
        r = httpx.get(f"{live_stack.base_url}{page}")
        assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
        for asset in re.findall(r'src="(/static-offline-docs/[^"]+)"', r.text):
            assert httpx.get(f"{live_stack.base_url}{asset}").status_code == 200
    # Behind a TLS proxy on 127.0.0.1 (trusted): HSTS.
    r = httpx.get(f"{live_stack.base_url}/health", headers={"X-Forwarded-Proto": "https"})
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_cors_only_for_configured_origins(live_stack: Stack) -> None:
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    url = f"{live_stack.base_url}/api/users/me"
    r = httpx.options(url, headers={"Origin": ALLOWED_ORIGIN, **preflight})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    r = httpx.options(url, headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in r.headers
    r = httpx.get(url, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
