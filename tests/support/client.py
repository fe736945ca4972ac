"""A small HTTP client speaking our API the way the README's curl examples do."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx


class ApiClient:
    """Tests write paths as the unversioned `/api/...`; the client sends them under `api_prefix`: the
    canonical `/api/v1` by default, or `/api` to speak to the deprecated aliases."""

    def __init__(self, base_url: str, token: str | None = None, api_prefix: str = "/api/v1") -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.token = token
        self.api_prefix = api_prefix

    def path(self, path: str) -> str:
        if path.startswith("/api/") and not path.startswith("/api/v1/"):
            return self.api_prefix + path.removeprefix("/api")
        return path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, self.path(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def register_and_login(self, username: str | None = None, password: str = "password123") -> dict[str, Any]:
        username = username or f"user_{uuid.uuid4().hex[:8]}"
        r = self.http.post(
            self.path("/api/auth/register"),
            json={"username": username, "email": f"{username}@example.com", "password": password},
        )
        assert r.status_code == 201, r.text
        tokens = self.http.post(self.path("/api/auth/login"), data={"username": username, "password": password}).json()
        self.token = tokens["access_token"]
        return {"username": username, "password": password, "user": r.json()["data"], **tokens}

    def upload(self, path: Path | str, filename: str | None = None, **fields: str) -> httpx.Response:
        path = Path(path)
        with path.open("rb") as fh:
            return self.post("/api/documents/upload", files={"file": (filename or path.name, fh)}, data=fields)

    def upload_bytes(self, content: bytes, filename: str, **fields: str) -> httpx.Response:
        return self.post("/api/documents/upload", files={"file": (filename, content)}, data=fields)

    def upload_raw_filename(self, content: bytes, filename: str) -> httpx.Response:
        """Send the filename bytes exactly (UTF-8, no escaping), as a hostile client would."""
        boundary = "rawboundary7d3f"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        body = head + content + f"\r\n--{boundary}--\r\n".encode()
        return self.post(
            "/api/documents/upload",
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    def wait_for(
        self, document_id: str, timeout: float = 90, statuses: tuple[str, ...] = ("completed", "failed")
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            r = self.get(f"/api/documents/{document_id}")
            assert r.status_code == 200, r.text
            last = r.json()["data"]
            if last["status"] in statuses:
                return last
            time.sleep(0.1)
        raise TimeoutError(f"document {document_id} still {last.get('status')}/{last.get('stage')}")

    def extracted(self, document_id: str) -> dict[str, Any]:
        r = self.get(f"/api/documents/{document_id}/extracted-data")
        assert r.status_code == 200, r.text
        return r.json()["data"]["result"]


def bound_client(base_url: str, source: str) -> httpx.Client:
    """A client whose connections come from `source` (a loopback address such as 127.0.0.2), to act
    as a trusted proxy or a stranger."""
    return httpx.Client(base_url=base_url, transport=httpx.HTTPTransport(local_address=source), timeout=15)


def wait_for_single_line(path: Path, needle: str, timeout: float = 10) -> str:
    """The one line of the log at `path` that contains `needle`, once written (log writers batch)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        found = [line for line in lines if needle in line]
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} not in {path}")
