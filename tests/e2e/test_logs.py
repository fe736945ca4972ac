"""Log files after real requests: the access line format, the worker's lines joined by request id."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
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
    assert (match["method"], match["path"], match["status"]) == ("POST", "/api/documents/upload", "202")
    assert float(line.split()[-1]) == float(match["ms"])  # the seed's awk '{print $NF}' works

    celery_log = _wait_for_text(logs / "celery.log", request_id)
    worker_lines = [line for line in celery_log.splitlines() if request_id in line]
    assert any("completed" in line for line in worker_lines), worker_lines

    everything = "".join(p.read_text(errors="replace") for p in logs.glob("*.log"))
    for secret in ("a-secret-password-123", "pdf-password-xyz", account["access_token"], account["refresh_token"]):
        assert secret not in everything
