"""The Python client (clients/python) against httpx.MockTransport: retries and Retry-After, token
refresh, Idempotency-Key on uploads, typed errors, the polling fallback of wait(), the CLI's token file.
The e2e test (tests/e2e/test_client_cli.py) runs the installed client against the real server."""

from __future__ import annotations

import json
import stat
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

CLIENT_SRC = Path(__file__).resolve().parents[2] / "clients" / "python" / "src"
if str(CLIENT_SRC) not in sys.path:
    sys.path.insert(0, str(CLIENT_SRC))

from docproc import (  # noqa: E402
    AsyncClient,
    AuthenticationError,
    Client,
    QuotaExceededError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
)
from docproc import config as cli_config  # noqa: E402

BASE = "http://docproc.test"
DOCUMENT = {"id": "6c1f0b1e-0000-4000-8000-000000000001", "original_filename": "거래명세서.pdf", "status": "pending"}


def error(status: int, code: str, headers: dict[str, str] | None = None, **details: object) -> httpx.Response:
    body = {"success": False, "message": f"{code} happened", "error_code": code, "details": details or None}
    return httpx.Response(status, json=body, headers=headers)


def accepted(document: dict[str, object] | None = None) -> httpx.Response:
    return httpx.Response(202, json={"success": True, "message": "Accepted", "data": document or DOCUMENT})


def client_with(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> tuple[Client, list[float]]:
    slept: list[float] = []
    client = Client(BASE, transport=httpx.MockTransport(handler), sleep=slept.append, **kwargs)  # type: ignore[arg-type]
    return client, slept


def test_rate_limited_requests_are_retried_after_the_servers_retry_after() -> None:
    answers = [
        error(429, "RATE_LIMITED", {"Retry-After": "2"}),
        error(503, "SERVICE_UNAVAILABLE", {"Retry-After": "1"}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json={"data": DOCUMENT})

    client, slept = client_with(handler, access_token="t")
    assert client.get(DOCUMENT["id"])["original_filename"] == "거래명세서.pdf"
    assert slept == [2.0, 1.0]


def test_retries_are_bounded_and_end_in_a_typed_error() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return error(503, "SERVICE_UNAVAILABLE")

    client, slept = client_with(handler, access_token="t", retry=RetryPolicy(max_retries=2, backoff=0.25))
    with pytest.raises(ServerError) as raised:
        client.get(DOCUMENT["id"])
    assert len(calls) == 3 and slept == [0.25, 0.5]
    assert (raised.value.error_code, raised.value.status_code) == ("SERVICE_UNAVAILABLE", 503)


def test_a_quota_or_a_retry_after_past_the_limit_is_an_error_at_once() -> None:
    client, slept = client_with(
        lambda r: error(429, "DAILY_DOCUMENT_QUOTA_EXCEEDED", {"Retry-After": "3600"}, limit=5, used=5),
        access_token="t",
    )
    with pytest.raises(QuotaExceededError) as raised:
        client.upload(b"%PDF-1.4", filename="a.pdf")
    assert raised.value.details == {"limit": 5, "used": 5} and raised.value.retry_after == 3600 and slept == []

    client, slept = client_with(lambda r: error(429, "RATE_LIMITED", {"Retry-After": "600"}), access_token="t")
    with pytest.raises(RateLimitedError) as limited:
        client.get(DOCUMENT["id"])
    assert limited.value.retry_after == 600 and slept == []


def test_an_expired_token_is_refreshed_once_and_the_request_retried() -> None:
    seen: list[str | None] = []
    saved: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            assert json.loads(request.content) == {"refresh_token": "r1"}
            return httpx.Response(200, json={"access_token": "a2", "refresh_token": "r2", "expires_in": 900})
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") == "Bearer a1":
            return error(401, "TOKEN_EXPIRED")
        return httpx.Response(200, json={"data": DOCUMENT})

    client, _ = client_with(handler, access_token="a1", refresh_token="r1", on_tokens=lambda a, r: saved.append((a, r)))
    assert client.get(DOCUMENT["id"])["id"] == DOCUMENT["id"]
    assert seen == ["Bearer a1", "Bearer a2"] and saved == [("a2", "r2")]
    assert (client.access_token, client.refresh_token) == ("a2", "r2")


def test_parallel_requests_with_an_expired_token_share_one_refresh() -> None:
    """A refresh token works once (reusing it revokes the session): threads must not each refresh."""
    refreshes: list[str] = []
    both_refused = threading.Barrier(2)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            refreshes.append(json.loads(request.content)["refresh_token"])
            return httpx.Response(200, json={"access_token": "a2", "refresh_token": "r2", "expires_in": 900})
        if request.headers.get("Authorization") == "Bearer a1":
            both_refused.wait(timeout=5)
            return error(401, "TOKEN_EXPIRED")
        return httpx.Response(200, json={"data": DOCUMENT})

    client, _ = client_with(handler, access_token="a1", refresh_token="r1")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: client.get(DOCUMENT["id"])["id"], range(2)))
    assert results == [DOCUMENT["id"]] * 2 and refreshes == ["r1"]


def test_refresh_is_tried_once_and_a_revoked_session_is_not_refreshed() -> None:
    refreshes: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            refreshes.append(request)
            return httpx.Response(200, json={"access_token": "a2", "refresh_token": "r2", "expires_in": 900})
        return error(401, "INVALID_TOKEN")

    client, _ = client_with(handler, access_token="a1", refresh_token="r1")
    with pytest.raises(AuthenticationError) as raised:
        client.me()
    assert raised.value.error_code == "INVALID_TOKEN" and len(refreshes) == 1

    client, _ = client_with(lambda r: error(401, "TOKEN_REVOKED"), access_token="a1", refresh_token="r1")
    with pytest.raises(AuthenticationError) as revoked:
        client.me()
    assert revoked.value.error_code == "TOKEN_REVOKED"


def test_a_retried_upload_sends_the_same_idempotency_key_and_the_whole_file(tmp_path: Path) -> None:
    content = b"%PDF-1.7\n" + b"x" * 300_000
    path = tmp_path / "거래명세서.pdf"
    path.write_bytes(content)
    requests: list[httpx.Request] = []
    answers = [error(503, "SERVICE_UNAVAILABLE", {"Retry-After": "0"})]

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        requests.append(request)
        return answers.pop(0) if answers else accepted()

    progress: list[tuple[int, int]] = []
    client, _ = client_with(handler, access_token="t")
    document = client.upload(path, password="secret", progress=lambda sent, total: progress.append((sent, total)))
    assert document["id"] == DOCUMENT["id"]
    keys = {request.headers["Idempotency-Key"] for request in requests}
    assert len(requests) == 2 and len(keys) == 1 and uuid.UUID(keys.pop()).version == 4
    for request in requests:
        assert content in request.content
        assert 'filename="거래명세서.pdf"'.encode() in request.content  # UTF-8, as typed
        assert b'name="password"\r\n\r\nsecret' in request.content
    assert progress[-1] == (len(content), len(content))
    assert any(sent < len(content) for sent, _ in progress)  # counted as httpx read it, not at the end

    client.upload(path)
    assert requests[-1].headers["Idempotency-Key"] not in {r.headers["Idempotency-Key"] for r in requests[:2]}


def test_an_upload_whose_connection_failed_is_resent_with_its_key() -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            raise httpx.ConnectError("connection reset")
        return accepted()

    client, _ = client_with(handler, access_token="t")
    client.upload(b"%PDF-1.4 small", filename="a.pdf", idempotency_key="order-42")
    assert keys == ["order-42", "order-42"]


def test_wait_polls_the_document_when_no_websocket_can_be_opened() -> None:
    states = iter(["processing", "processing", "completed"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ws"):
            return httpx.Response(404)
        status = next(states)
        return httpx.Response(200, json={"data": {**DOCUMENT, "status": status, "stage": "extracting"}})

    events: list[dict[str, object]] = []
    client, slept = client_with(handler, access_token="t")
    final = client.wait(DOCUMENT["id"], on_event=events.append, poll_interval=0.5)
    assert final["status"] == "completed"
    assert [event["status"] for event in events][-3:] == ["processing", "processing", "completed"]
    assert slept and set(slept) == {0.5}


async def test_the_async_client_refreshes_and_uploads_with_a_key() -> None:
    requests: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        requests.append(request)
        if request.url.path == "/api/v1/auth/refresh":
            return httpx.Response(200, json={"access_token": "a2", "refresh_token": "r2", "expires_in": 900})
        if request.headers.get("Authorization") == "Bearer a1":
            return error(401, "TOKEN_EXPIRED")
        return accepted()

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with AsyncClient(
        BASE, access_token="a1", refresh_token="r1", transport=httpx.MockTransport(handler), sleep=sleep
    ) as client:
        document = await client.upload(b"%PDF-1.4 async", filename="견적서.pdf")
    assert document["original_filename"] == "거래명세서.pdf"
    uploads = [r for r in requests if r.url.path == "/api/v1/documents/upload"]
    assert [r.headers["Authorization"] for r in uploads] == ["Bearer a1", "Bearer a2"]
    assert len({r.headers["Idempotency-Key"] for r in uploads}) == 1
    assert all(b"%PDF-1.4 async" in r.content for r in uploads)


def test_the_cli_keeps_tokens_private_and_lets_the_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("DOCPROC_SERVER", "DOCPROC_USERNAME", "DOCPROC_PASSWORD", "DOCPROC_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    cli_config.save_server("http://files.example:8001")
    cli_config.save_tokens("http://files.example:8001", "kim", "access", "refresh")

    token_file = tmp_path / "xdg" / "docproc" / "tokens.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    saved = cli_config.load()
    assert (saved.server, saved.access_token, saved.from_environment) == ("http://files.example:8001", "access", False)

    monkeypatch.setenv("DOCPROC_SERVER", "http://env.example")
    monkeypatch.setenv("DOCPROC_TOKEN", "env-token")
    overridden = cli_config.load()
    assert (overridden.server, overridden.access_token, overridden.refresh_token) == (
        "http://env.example",
        "env-token",
        None,
    )
    assert overridden.from_environment
    assert cli_config.load("http://option.example").server == "http://option.example"
