"""GET /metrics on the live stack: the API's request metrics and the worker's document counters in
one scrape (multiprocess mode on the stack's shared directory), plus the broker gauges."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

UUID_RE = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


def _scrape(base_url: str) -> tuple[dict[str, list], str]:  # type: ignore[type-arg]
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, list] = {}  # type: ignore[type-arg]
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples, response.text


def _value(samples: dict[str, list], name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_after_a_processed_upload(live_stack: Stack, client: ApiClient) -> None:
    response = client.upload_bytes(small_text_pdf(), "견적서.pdf")
    assert response.status_code == 202, response.text
    document_id = response.json()["data"]["id"]
    assert client.wait_for(document_id)["status"] == "completed"
    client.get(f"/api/documents/{document_id}")  # a path with an id in it

    # The worker counts the run just after committing it: give it a moment to land in its file.
    deadline = time.monotonic() + 10
    while True:
        samples, text = _scrape(live_stack.base_url)
        if _value(samples, "documents_processed_total", file_type="pdf", status="completed") >= 1:
            break
        assert time.monotonic() < deadline, text
        time.sleep(0.2)

    # ApiClient speaks the canonical /api/v1 (tests/support/client.py): the route label is its template.
    upload_route = {"method": "POST", "route": "/api/v1/documents/upload", "status_class": "2xx"}
    assert _value(samples, "http_request_duration_seconds_count", **upload_route) >= 1
    assert _value(samples, "http_requests_total", route="/api/v1/documents/{document_id}", status="200") >= 1
    assert _value(samples, "documents_uploaded_total", file_type="pdf") >= 1
    assert _value(samples, "document_processing_seconds_count", file_type="pdf") >= 1
    assert _value(samples, "celery_queue_depth", queue="documents") >= 0
    assert _value(samples, "celery_workers") >= 1
    for series in samples.values():
        for sample in series:
            assert not any(UUID_RE.search(value) for value in sample.labels.values()), sample
    assert document_id not in text

    # Every API process of the stack reads the same files: another instance reports the worker's counts too.
    for port in getattr(live_stack, "api_ports", {}).values():
        other, _ = _scrape(f"http://127.0.0.1:{port}")
        assert _value(other, "documents_processed_total", file_type="pdf", status="completed") >= 1

    started = time.perf_counter()
    _scrape(live_stack.base_url)
    assert time.perf_counter() - started < 0.5  # the broker reads are bounded by short timeouts
