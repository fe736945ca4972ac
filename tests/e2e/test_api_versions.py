"""Both prefixes against the live stack: a user on the deprecated /api aliases and one on /api/v1 get the
same answers for the same document, every alias answer says where it moved, and both WebSocket
addresses stream the same events (README "API versions")."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets

from tests.support.client import ApiClient
from tests.support.documents import korean_invoice_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

SUCCESSOR = 'rel="successor-version"'


def _assert_alias(response: Any, v1_path: str) -> None:
    assert response.headers["api-version"] == "v1"
    assert response.headers["deprecation"].startswith("@")
    assert response.headers["link"].startswith(f"<{v1_path}>; {SUCCESSOR}"), response.headers["link"]


def test_a_document_read_through_both_prefixes_is_the_same_document(live_stack: Stack) -> None:
    legacy = ApiClient(live_stack.base_url, api_prefix="/api")
    account = legacy.register_and_login()
    v1 = ApiClient(live_stack.base_url, token=account["access_token"])

    upload = legacy.upload_bytes(korean_invoice_pdf(), "거래명세서.pdf")
    assert upload.status_code == 202, upload.text
    _assert_alias(upload, "/api/v1/documents/upload")
    document_id = upload.json()["data"]["id"]
    assert v1.wait_for(document_id)["status"] == "completed"

    pairs = [
        f"/api/documents/{document_id}",
        f"/api/documents/{document_id}/extracted-data",
        f"/api/documents/{document_id}/reports",
        f"/api/documents/{document_id}/events",
        "/api/documents/stats/summary",
        "/api/users/me",
    ]
    for path in pairs:
        old, new = legacy.get(path), v1.get(path)
        assert old.status_code == new.status_code == 200, (path, old.text)
        assert new.headers["api-version"] == "v1" and "deprecation" not in new.headers
        _assert_alias(old, "/api/v1" + path.removeprefix("/api"))
        assert old.json() == new.json(), path

    listing = v1.get("/api/documents/", params={"search": "거래명세서"}).json()
    assert [doc["id"] for doc in listing["data"]] == [document_id]
    extraction = v1.extracted(document_id)
    assert "주식회사 한빛상사" in extraction["text"]

    (report,) = v1.get(f"/api/documents/{document_id}/reports").json()["data"]
    download = f"/api/documents/{document_id}/reports/{report['id']}/download"
    old_json = legacy.get(download, params={"format": "json"})
    new_json = v1.get(download, params={"format": "json"})
    _assert_alias(old_json, "/api/v1" + download.removeprefix("/api"))
    assert json.loads(old_json.content) == json.loads(new_json.content)
    assert json.loads(new_json.content)["headline"]["document_number"] == "INV-2026-0315"

    # A deletion through the alias is a deletion: v1 no longer finds it.
    deleted = legacy.request("DELETE", f"/api/documents/{document_id}")
    assert deleted.status_code == 200
    _assert_alias(deleted, f"/api/v1/documents/{document_id}")
    gone = v1.get(f"/api/documents/{document_id}")
    assert gone.status_code == 404 and gone.json()["error_code"] == "DOCUMENT_NOT_FOUND"


def test_both_websocket_addresses_stream_the_users_events(live_stack: Stack) -> None:
    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    base = live_stack.base_url.replace("http://", "ws://")

    async def follow(address: str) -> list[str]:
        async with websockets.connect(f"{base}{address}?token={account['access_token']}") as ws:
            await asyncio.wait_for(ws.recv(), 10)  # the snapshot on connect
            document_id = api.upload_bytes(korean_invoice_pdf(), f"{address.strip('/')}.pdf").json()["data"]["id"]
            types: list[str] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                if event.get("document_id") == document_id:
                    types.append(event["type"])
                    if event["type"] in {"document_completed", "document_failed"}:
                        return types
            raise TimeoutError(types)

    for address in ("/api/v1/ws", "/ws"):
        types = asyncio.run(follow(address))
        assert types[-1] == "document_completed", (address, types)
