"""The shipped dashboards and alert rules against the live stack: every metric they query is in a
real /metrics scrape after documents were processed and a webhook was delivered (with one retry)."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.monitoring import SYNTHETIC, dashboard_expressions, metric_names, rule_expressions
from tests.support.stack import Stack
from tests.unit.test_webhooks import Receiver

pytestmark = pytest.mark.e2e


def _scrape(base_url: str) -> dict[str, dict[frozenset[tuple[str, str]], float]]:
    # /metrics is for internal clients: the test talks to uvicorn on loopback, as Prometheus would.
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    series: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            series.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return series


def _total(series: dict[str, dict[frozenset[tuple[str, str]], float]], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for key, value in series.get(name, {}).items() if wanted <= key)


def test_every_metric_of_the_dashboards_and_rules_is_on_the_live_metrics(live_stack: Stack, client: ApiClient) -> None:
    with Receiver(fail_first=1) as receiver:
        first = client.upload_bytes(small_text_pdf(), "monitoring.pdf", callback_url=receiver.url)
        assert first.status_code == 202, first.text
        second = client.upload_bytes(small_text_pdf(), "monitoring-2.pdf")
        assert second.status_code == 202, second.text
        for response in (first, second):
            assert client.wait_for(response.json()["data"]["id"])["status"] == "completed"

        # The worker writes its counters just after committing: wait until they reach the scrape.
        deadline = time.monotonic() + 30
        while True:
            series = _scrape(live_stack.base_url)
            if _total(series, "webhook_delivery_attempts_total", outcome="success") >= 1:
                break
            assert time.monotonic() < deadline, sorted(series)
            time.sleep(0.2)

    assert len(receiver.requests) == 2  # one refused, then the retry accepted
    assert _total(series, "webhook_delivery_attempts_total", outcome="retry") >= 1
    assert _total(series, "documents_processed_total", file_type="pdf", status="completed") >= 2
    for stage in ("extract", "analyze", "report", "save"):
        assert _total(series, "document_stage_seconds_count", stage=stage, file_type="pdf") >= 2, stage
    assert _total(series, "celery_worker_resident_memory_bytes") > 10 * 2**20  # a live worker's RSS
    assert _total(series, "documents_oldest_pending_age_seconds") >= 0  # the database answered
    assert _total(series, "storage_free_bytes", directory="uploads") > 0
    assert _total(series, "storage_size_bytes", directory="uploads") >= _total(
        series, "storage_free_bytes", directory="uploads"
    )

    wanted: dict[str, list[str]] = {}
    for expr in dashboard_expressions() + rule_expressions():
        for name in metric_names(expr) - SYNTHETIC:
            wanted.setdefault(name, []).append(expr)
    assert len(wanted) >= 10
    missing = {name: exprs[0] for name, exprs in wanted.items() if name not in series}
    assert not missing, missing
