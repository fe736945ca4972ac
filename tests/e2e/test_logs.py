"""Log files after real requests: the access line format, the worker's lines joined by request id."""

from __future__ import annotations

import asyncio
import re
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.services import free_port
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

ACCESS_LINE = re.compile(
    r'^\S+ (?P<client>\S+) "(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) (?P<bytes>\d+) '
    r"(?P<request_id>[A-Za-z0-9._-]+) (?P<ms>\d+\.\d+)$"
)


def _wait_for_text(path: Path, needle: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in (text := path.read_text(encoding="utf-8", errors="replace")):
            return text
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} not in {path}")


def test_request_id_joins_api_and_worker_logs(live_stack: Stack) -> None:
    api = ApiClient(live_stack.base_url)
    account = api.register_and_login(password="a-secret-password-123")
    request_id = "trace-upload-0001"
    r = api.post(
        "/api/documents/upload",
        files={"file": ("trace.pdf", small_text_pdf())},
        data={"password": "pdf-password-xyz"},
        headers={"X-Request-ID": request_id},
    )
    assert r.status_code == 202 and r.headers["x-request-id"] == request_id
    api.wait_for(r.json()["data"]["id"])
    assert api.get("/health").headers["x-request-id"]  # generated when absent

    logs = Path(live_stack.env["LOG_DIR"])
    access = _wait_for_text(logs / "access.log", request_id)
    line = next(line for line in access.splitlines() if request_id in line)
    match = ACCESS_LINE.match(line)
    assert match, line
    assert (match["method"], match["path"], match["status"]) == ("POST", "/api/v1/documents/upload", "202")
    assert float(line.split()[-1]) == float(match["ms"])  # the seed's awk '{print $NF}' works

    celery_log = _wait_for_text(logs / "celery.log", request_id)
    worker_lines = [line for line in celery_log.splitlines() if request_id in line]
    assert any("completed" in line for line in worker_lines), worker_lines

    everything = "".join(p.read_text(errors="replace") for p in logs.glob("*.log"))
    for secret in ("a-secret-password-123", "pdf-password-xyz", account["access_token"], account["refresh_token"]):
        assert secret not in everything


# A caller's attempt to write lines of their own: CR LF and a fake access line, LF, U+2028, NEL, an
# ANSI escape, a quote, a backslash and a tab, all percent-encoded in the URL.
FORGING_PATH = (
    "/x%0D%0AFORGED%20127.0.0.1%20%22GET%20/admin%22%20200%200%20-%200.01"
    "%0AFORGED-2%E2%80%A8FORGED-3%C2%85FORGED-4%1B%5B31m%22%5C%09end"
)
# The same path as the access line shows it: one line, inside its quotes.
FORGING_PATH_LOGGED = (
    '/x\\r\\nFORGED 127.0.0.1 \\"GET /admin\\" 200 0 - 0.01'
    '\\nFORGED-2\\u2028FORGED-3\\x85FORGED-4\\x1b[31m\\"\\\\\\tend'
)


def _forged_lines(logs: Path) -> list[str]:
    # str.splitlines breaks where any reader might: CR, LF, NEL, U+2028, \v, \f, \x1c-\x1e.
    return [
        f"{path.name}: {line}"
        for path in logs.glob("*.log")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.startswith("FORGED")
    ]


def test_control_characters_in_a_url_cannot_forge_access_lines(live_stack: Stack) -> None:
    request_id = f"forge-{uuid.uuid4().hex[:12]}"
    r = httpx.get(live_stack.base_url + FORGING_PATH, headers={"X-Request-ID": request_id})
    assert r.status_code == 404 and r.json()["error_code"] == "NOT_FOUND"

    logs = Path(live_stack.env["LOG_DIR"])
    access = _wait_for_text(logs / "access.log", request_id)
    (line,) = [line for line in access.splitlines() if request_id in line]
    assert re.fullmatch(
        rf'\S+ 127\.0\.0\.1 "GET {re.escape(FORGING_PATH_LOGGED)}" 404 \d+ {request_id} \d+\.\d+', line
    ), line
    assert _forged_lines(logs) == []


def test_user_text_in_an_exception_cannot_forge_app_log_lines(live_stack: Stack, tmp_path: Path) -> None:
    """A bug whose exception message quotes the caller's text: app.log and error.log get one record
    line for the request, and the traceback's lines all carry the continuation prefix."""
    probe = Stack(env={**live_stack.env, "LOG_DIR": str(tmp_path / "logs")}, workdir=tmp_path)
    port = free_port()
    probe.spawn(
        "probe",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.support.log_probe_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
    )
    probe.api_ports["probe"] = port
    try:
        probe.wait_ready()
        request_id = f"crash-{uuid.uuid4().hex[:12]}"
        r = httpx.get(f"http://127.0.0.1:{port}/probe/crash{FORGING_PATH}", headers={"X-Request-ID": request_id})
        assert r.status_code == 500 and r.json()["error_code"] == "INTERNAL_ERROR"
        logs = tmp_path / "logs"
        _wait_for_text(logs / "access.log", request_id)
    finally:
        probe.stop()

    quoted_path = "/probe/crash" + FORGING_PATH_LOGGED
    for name in ("app.log", "error.log"):
        text = (logs / name).read_text(encoding="utf-8")
        lines = text.splitlines()
        (start,) = [i for i, line in enumerate(lines) if request_id in line]
        assert " ERROR [" in lines[start]
        assert lines[start].endswith(f'fastapi_app.errors [{request_id}] unhandled error on GET "{quoted_path}"')
        # The traceback follows, every line of it prefixed; it ends with the exception, still escaped.
        traceback = []
        for line in lines[start + 1 :]:
            if not line.startswith("  | "):
                break
            traceback.append(line)
        assert traceback[0] == "  | Traceback (most recent call last):"
        # The exception's own text keeps its LF as a line break of the traceback, behind the prefix.
        assert traceback[-3:] == [
            "  | RuntimeError: cannot handle x\\r",
            '  | FORGED 127.0.0.1 "GET /admin" 200 0 - 0.01',
            '  | FORGED-2\\u2028FORGED-3\\x85FORGED-4\\x1b[31m"\\\\tend',
        ]
        assert all(not line.startswith("FORGED") for line in lines), name
    assert _forged_lines(logs) == []


async def test_uvicorn_websocket_lines_carry_no_token(live_stack: Stack) -> None:
    """uvicorn prints its own line for each WebSocket, query string (the JWT) included, through its
    own handler to the server's output (logs/uvicorn.out, prod-gunicorn.out): redacted there too."""
    import websockets

    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    url = live_stack.base_url.replace("http://", "ws://") + f"/ws?token={account['access_token']}"
    async with websockets.connect(url) as ws:
        await ws.send("ping")
    out = live_stack.workdir / "uvicorn.out"
    deadline = time.monotonic() + 10
    while "WebSocket /ws?token=***" not in out.read_text(errors="replace") and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    text = out.read_text(errors="replace")
    assert "WebSocket /ws?token=***" in text
    assert account["access_token"] not in text and account["access_token"][:40] not in text
