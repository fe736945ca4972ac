"""The Redis cache of reads across two API processes (uvicorn and uvicorn-b) and a real Celery worker:
once a change is committed (upload, the worker's progress and completion, reprocess, delete), neither
process serves the read from before it. And the HTTP validators: ETag / If-None-Match, immutable
report versions."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from tests.support.client import ApiClient
from tests.support.documents import korean_invoice_pdf, small_text_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _views(api: ApiClient, document_id: str) -> dict[str, Any]:
    """What a user sees of a document and their counts, through one API process."""
    document = api.get(f"/api/documents/{document_id}")
    stats = api.get("/api/documents/stats/summary").json()["data"]
    listed = api.get("/api/documents/", params={"page": 1, "page_size": 20}).json()
    series = api.get("/api/documents/stats/timeseries", params={"days": 7, "tz": "UTC"}).json()["data"]
    return {
        "status": document.json()["data"]["status"] if document.status_code == 200 else document.status_code,
        "total": stats["total_documents"],
        "by_status": {k: v for k, v in stats["by_status"].items() if v},
        "listed": {d["id"]: d["status"] for d in listed["data"]},
        "list_total": listed["total"],
        "today": series["days"][-1]["total"],
    }


def _both(apis: list[ApiClient], document_id: str) -> list[dict[str, Any]]:
    # Twice on each: the second read of each process is the cached one.
    return [_views(api, document_id) for api in apis for _ in range(2)]


def test_no_process_serves_a_stale_read_after_a_change(live_stack: Stack, client: ApiClient) -> None:
    one, two = client, ApiClient(live_stack.url("uvicorn-b"), client.token)
    apis = [one, two]
    user_id = one.get("/api/users/me").json()["data"]["id"]

    first = one.upload_bytes(korean_invoice_pdf(), "invoice.pdf").json()["data"]["id"]
    assert one.wait_for(first)["status"] == "completed"
    # Completed by the worker: both processes, cached or not, say so.
    seen = _both(apis, first)
    assert all(v["status"] == "completed" and v["total"] == 1 and v["list_total"] == 1 for v in seen), seen
    assert all(v["by_status"] == {"completed": 1} and v["today"] == 1 for v in seen), seen
    cached = redis.Redis.from_url(live_stack.env["REDIS_URL"]).keys(f"cache:v1:{user_id}:*")
    # The reads did go through the cache (else the rest would prove nothing).
    reads = {key.decode().split(":")[4] for key in cached}  # cache:v1:{user}:{generation}:{read}...
    assert {"stats", "list"} <= reads, cached

    # Reprocess through API 2: API 1 (which cached "completed") shows the queued run at once.
    assert two.post(f"/api/documents/{first}/reprocess").status_code == 202
    after_reprocess = _views(one, first)
    assert after_reprocess["status"] in ("pending", "processing"), after_reprocess
    assert after_reprocess["by_status"].get("completed", 0) == 0, after_reprocess
    # The worker completes it: the moment one process sees it, so does the other.
    assert two.wait_for(first)["status"] == "completed"
    assert [v["status"] for v in _both(apis, first)] == ["completed"] * 4

    # An upload through API 1: API 2's cached counts and list include it at once.
    second = one.upload_bytes(small_text_pdf(), "second.pdf").json()["data"]["id"]
    after_upload = _views(two, second)
    assert after_upload["total"] == after_upload["list_total"] == 2 and second in after_upload["listed"]
    assert after_upload["status"] in ("pending", "processing", "completed")
    # Completed by the worker (as seen through API 2): API 1 agrees immediately.
    assert two.wait_for(second)["status"] == "completed"
    assert _views(one, second)["by_status"] == {"completed": 2}

    # A delete through API 2: API 1 forgets the document at once.
    assert two.request("DELETE", f"/api/documents/{second}").status_code == 200
    after_delete = _views(one, second)
    assert after_delete["status"] == 404
    assert (after_delete["total"], after_delete["list_total"], after_delete["today"]) == (1, 1, 1)
    assert list(after_delete["listed"]) == [first]


def _conditional_get(api: ApiClient, path: str) -> tuple[Any, Any]:
    fresh = api.get(path)
    assert fresh.status_code == 200, fresh.text
    etag = fresh.headers["etag"]
    again = api.get(path, headers={"If-None-Match": etag})
    return fresh, again


def test_etags_answer_304_until_the_document_changes(live_stack: Stack, client: ApiClient) -> None:
    other = ApiClient(live_stack.url("uvicorn-b"), client.token)
    document_id = client.upload_bytes(korean_invoice_pdf(), "etag.pdf").json()["data"]["id"]
    assert client.wait_for(document_id)["status"] == "completed"

    for path in (f"/api/documents/{document_id}", f"/api/documents/{document_id}/extracted-data"):
        fresh, again = _conditional_get(client, path)
        etag = fresh.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert fresh.headers["cache-control"] == "private, no-cache"
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        # The other process computes the same validator for the same content.
        assert other.get(path, headers={"If-None-Match": etag}).status_code == 304

    fresh, _ = _conditional_get(client, f"/api/documents/{document_id}")
    assert other.post(f"/api/documents/{document_id}/reprocess").status_code == 202
    changed = client.get(f"/api/documents/{document_id}", headers={"If-None-Match": fresh.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["data"]["status"] in ("pending", "processing")
    assert changed.headers["etag"] != fresh.headers["etag"]
    assert client.wait_for(document_id)["status"] == "completed"

    reports = client.get(f"/api/documents/{document_id}/reports")
    assert reports.headers["cache-control"] == "private, no-cache"
    assert (
        client.get(
            f"/api/documents/{document_id}/reports", headers={"If-None-Match": reports.headers["etag"]}
        ).status_code
        == 304
    )
    newest = reports.json()["data"][0]
    # Reprocessing wrote report version 2; version 1 stays as it was, for ever.
    assert [r["version"] for r in reports.json()["data"]] == [2, 1]
    for path in (
        f"/api/documents/{document_id}/reports/{newest['id']}",
        f"/api/documents/{document_id}/reports/{newest['id']}/download?format=md",
    ):
        fresh, again = _conditional_get(client, path)
        cache_control = fresh.headers["cache-control"]
        assert "private" in cache_control and "immutable" in cache_control and "max-age=" in cache_control
        assert again.status_code == 304 and again.content == b""
    report = client.get(f"/api/documents/{document_id}/reports/{newest['id']}").json()["data"]
    assert report["version"] == 2 and report["content"]
