"""Prometheus metrics: route-template labels, status labels, scrape-time broker gauges, multiprocess."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from fastapi_app.core import metrics
from fastapi_app.core.metrics import UNMATCHED_ROUTE, BrokerCollector, WorkerHeartbeat
from fastapi_app.core.middleware import RequestLifecycleMiddleware
from tests.support.stack import ROOT

UUID_RE = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


def _count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value("http_requests_total", {"method": method, "route": route, "status": status})
    return value or 0.0


def _histogram_count(method: str, route: str, status_class: str) -> float:
    labels = {"method": method, "route": route, "status_class": status_class}
    return REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) or 0.0


@pytest.fixture(scope="module")
def probe_client() -> TestClient:
    router = APIRouter(prefix="/things")

    @router.get("/{thing_id}")
    async def get_thing(thing_id: uuid.UUID) -> dict[str, str]:
        return {"id": str(thing_id)}

    @router.get("/{thing_id}/parts/{part}")
    async def get_part(thing_id: uuid.UUID, part: int) -> dict[str, str]:
        return {"id": str(thing_id), "part": str(part)}

    @router.get("/boom/now")
    async def boom() -> None:
        raise RuntimeError("boom")

    app = FastAPI()
    app.add_middleware(RequestLifecycleMiddleware)
    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def test_path_params_are_labelled_by_template_never_by_value(probe_client: TestClient) -> None:
    thing = uuid.uuid4()
    before = _count("GET", "/things/{thing_id}", "200")
    before_parts = _count("GET", "/things/{thing_id}/parts/{part}", "200")
    assert probe_client.get(f"/things/{thing}").status_code == 200
    assert probe_client.get(f"/things/{thing}/parts/7").status_code == 200
    assert _count("GET", "/things/{thing_id}", "200") == before + 1
    assert _count("GET", "/things/{thing_id}/parts/{part}", "200") == before_parts + 1
    assert _histogram_count("GET", "/things/{thing_id}", "2xx") >= 1
    exposed = metrics.render_latest().decode()
    assert str(thing) not in exposed and "/parts/7" not in exposed


def test_unknown_routes_share_one_label(probe_client: TestClient) -> None:
    before = _count("GET", UNMATCHED_ROUTE, "404")
    for _ in range(3):
        assert probe_client.get(f"/nowhere/{uuid.uuid4()}").status_code == 404
    assert _count("GET", UNMATCHED_ROUTE, "404") == before + 3
    assert _histogram_count("GET", UNMATCHED_ROUTE, "4xx") >= 3


def test_status_labels_for_client_errors_405_and_exceptions(probe_client: TestClient) -> None:
    # A validation error and a wrong method still name the route they were meant for.
    before_422 = _count("GET", "/things/{thing_id}", "422")
    assert probe_client.get("/things/not-a-uuid").status_code == 422
    assert _count("GET", "/things/{thing_id}", "422") == before_422 + 1

    before_405 = _count("DELETE", "/things/{thing_id}", "405")
    assert probe_client.delete(f"/things/{uuid.uuid4()}").status_code == 405
    assert _count("DELETE", "/things/{thing_id}", "405") == before_405 + 1

    before_500 = _count("GET", "/things/boom/now", "500")
    assert probe_client.get("/things/boom/now").status_code == 500
    assert _count("GET", "/things/boom/now", "500") == before_500 + 1
    assert _histogram_count("GET", "/things/boom/now", "5xx") >= 1


def test_unknown_methods_do_not_create_label_values(probe_client: TestClient) -> None:
    before = _count("OTHER", UNMATCHED_ROUTE, "404") + _count("OTHER", "/things/{thing_id}", "405")
    probe_client.request("BREW", f"/things/{uuid.uuid4()}")
    after = _count("OTHER", UNMATCHED_ROUTE, "404") + _count("OTHER", "/things/{thing_id}", "405")
    assert after == before + 1
    assert metrics.method_label("BREW") == "OTHER" and metrics.method_label("PATCH") == "PATCH"


def test_status_class() -> None:
    assert [metrics.status_class(s) for s in (101, 200, 302, 404, 503, 0, 999)] == [
        "1xx",
        "2xx",
        "3xx",
        "4xx",
        "5xx",
        "5xx",
        "5xx",
    ]


def test_metrics_token_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_app.core.config import get_settings
    from fastapi_app.main import create_app

    monkeypatch.setenv("METRICS_TOKEN", "scrape-token-0123456789")
    get_settings.cache_clear()
    try:
        client = TestClient(create_app())
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic scrape-token-0123456789"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["error_code"] == "NOT_AUTHENTICATED" and "METRICS_TOKEN" in refused.json()["message"]
            assert "http_requests" not in refused.text
        allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
        assert allowed.status_code == 200 and "# TYPE http_requests_total counter" in allowed.text
    finally:
        monkeypatch.delenv("METRICS_TOKEN")
        get_settings.cache_clear()


def test_metrics_endpoint_on_the_app() -> None:
    from fastapi_app.main import create_app

    client = TestClient(create_app())
    client.get(f"/api/documents/{uuid.uuid4()}")  # 401 without a token; the template is what counts
    client.get(f"/api/v1/documents/{uuid.uuid4()}")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]

    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    for name in ("http_request_duration_seconds", "http_requests", "celery_queue_depth", "celery_workers"):
        assert name in families, name
    # Measured in the database at scrape time: -1 here, where the app's database has no tables.
    assert [s.value for s in families["documents_oldest_pending_age_seconds"].samples] in ([-1.0], [0.0])
    routes = {s.labels.get("route") for s in families["http_requests"].samples}
    # The full template of each mount: the canonical path and its deprecated alias are told apart.
    assert {"/api/documents/{document_id}", "/api/v1/documents/{document_id}"} <= routes
    assert "/documents/{document_id}" not in routes
    for family in families.values():
        for sample in family.samples:
            assert not any(UUID_RE.search(value) for value in sample.labels.values()), sample


def test_document_counters() -> None:
    def value(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    uploaded = value("documents_uploaded_total", {"file_type": "excel"})
    done = value("documents_processed_total", {"file_type": "excel", "status": "completed"})
    timed = value("document_processing_seconds_count", {"file_type": "excel"})
    metrics.record_upload("excel")
    metrics.record_processed("excel", "completed", 1.5)
    assert value("documents_uploaded_total", {"file_type": "excel"}) == uploaded + 1
    assert value("documents_processed_total", {"file_type": "excel", "status": "completed"}) == done + 1
    assert value("document_processing_seconds_count", {"file_type": "excel"}) == timed + 1


def test_stage_webhook_and_worker_memory_metrics_are_exported() -> None:
    def value(name: str, labels: dict[str, str] | None = None) -> float:
        return REGISTRY.get_sample_value(name, labels or {}) or 0.0

    extract = {"stage": "extract", "file_type": "pdf"}
    timed = value("document_stage_seconds_count", extract)
    retried = value("webhook_delivery_attempts_total", {"outcome": "retry"})
    metrics.record_stage("extract", "pdf", 0.2)
    metrics.record_webhook_attempt("retry")
    metrics.record_webhook_attempt("something new")  # never a new label value
    metrics.record_worker_memory()

    assert value("document_stage_seconds_count", extract) == timed + 1
    assert value("document_stage_seconds_bucket", {**extract, "le": "0.25"}) >= 1
    assert value("webhook_delivery_attempts_total", {"outcome": "retry"}) == retried + 1
    outcomes = {
        sample.labels["outcome"]
        for family in REGISTRY.collect()
        if family.name == "webhook_delivery_attempts"
        for sample in family.samples
    }
    assert outcomes <= set(metrics.WEBHOOK_OUTCOMES)
    # A real RSS of this Python process: tens of megabytes, not zero and not a page count.
    assert 10 * 2**20 < value("celery_worker_resident_memory_bytes") < 64 * 2**30


def test_storage_free_and_size_of_the_upload_and_report_filesystems(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from fastapi_app.core.config import Settings

    (tmp_path / "up").mkdir()
    settings = Settings(UPLOAD_DIR=tmp_path / "up", REPORTS_DIR=tmp_path / "missing")
    monkeypatch.setattr(metrics, "get_settings", lambda: settings)
    samples = {
        (sample.name, sample.labels["directory"]): sample.value
        for family in metrics.StorageCollector().collect()
        for sample in family.samples
    }
    stat = os.statvfs(tmp_path)
    # A directory not created yet reports nothing rather than an error or a made-up zero.
    assert set(samples) == {("storage_free_bytes", "uploads"), ("storage_size_bytes", "uploads")}
    assert samples[("storage_size_bytes", "uploads")] == stat.f_blocks * stat.f_frsize
    assert 0 < samples[("storage_free_bytes", "uploads")] <= samples[("storage_size_bytes", "uploads")]
    assert b"storage_free_bytes" in metrics.render_latest()


# --- broker gauges ----------------------------------------------------------------------------


def _gauges(collector: BrokerCollector) -> dict[str, float]:
    return {sample.name: sample.value for family in collector.collect() for sample in family.samples}


def _use_broker(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    from fastapi_app.core.config import Settings

    monkeypatch.setattr(metrics, "get_settings", lambda: Settings(CELERY_BROKER_URL=url))


def test_unreachable_redis_reports_minus_one_fast_and_logs_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _use_broker(monkeypatch, f"redis://127.0.0.1:{port}/0")
    collector = BrokerCollector()
    caplog.set_level(logging.WARNING, logger="fastapi_app.metrics")
    started = time.perf_counter()
    for _ in range(3):
        assert _gauges(collector) == {"celery_queue_depth": -1, "celery_workers": -1}
    assert time.perf_counter() - started < 0.5
    warnings = [r for r in caplog.records if r.name == "fastapi_app.metrics"]
    assert len(warnings) == 2  # one per gauge, not one per scrape


def test_redis_queue_depth_and_worker_heartbeats(monkeypatch: pytest.MonkeyPatch, inprocess_redis_url: str) -> None:
    import redis

    _use_broker(monkeypatch, inprocess_redis_url)
    client = redis.Redis.from_url(inprocess_redis_url)
    client.delete("documents", "documents\x06\x163", metrics.WORKERS_SET)
    client.rpush("documents", "a", "b")
    client.rpush("documents\x06\x163", "c")  # a message with priority 3 waits in its own list
    first = WorkerHeartbeat("w1@host", inprocess_redis_url, "redis")
    second = WorkerHeartbeat("w2@host", inprocess_redis_url, "redis")
    first.beat()
    second.beat()
    # A worker that vanished without stopping: its key expired, its set entry did not.
    client.sadd(metrics.WORKERS_SET, "ghost@host")
    collector = BrokerCollector(queue="documents")
    assert _gauges(collector) == {"celery_queue_depth": 3, "celery_workers": 2}
    assert not client.sismember(metrics.WORKERS_SET, "ghost@host")
    second.stop()
    assert _gauges(collector)["celery_workers"] == 1
    first.stop()
    client.delete("documents", "documents\x06\x163")


def test_embedded_broker_queue_depth_and_heartbeat_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broker = tmp_path / "broker.sqlite3"
    url = f"sqla+sqlite:///{broker}"
    _use_broker(monkeypatch, url)
    collector = BrokerCollector(queue="documents")
    assert _gauges(collector) == {"celery_queue_depth": 0, "celery_workers": 0}  # nothing created yet

    with sqlite3.connect(broker) as conn:  # kombu's table layout
        conn.execute("CREATE TABLE kombu_queue (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("CREATE TABLE kombu_message (id INTEGER PRIMARY KEY, queue_id INT, visible BOOLEAN, payload TEXT)")
        conn.execute("INSERT INTO kombu_queue VALUES (1, 'documents'), (2, 'other')")
        conn.executemany(
            "INSERT INTO kombu_message (queue_id, visible, payload) VALUES (?, ?, '')",
            [(1, 1), (1, 1), (1, 0), (2, 1)],  # delivered (invisible) and other-queue rows do not count
        )
    beat = WorkerHeartbeat("w1@host", url.replace("sqla+", "sqla-fast+"), "embedded")  # the worker's alias
    beat.beat()
    stale = metrics.embedded_heartbeat_dir(url) / "old@host"  # type: ignore[operator]
    stale.touch()
    old = time.time() - metrics.HEARTBEAT_TTL_S - 5
    os.utime(stale, (old, old))
    assert _gauges(collector) == {"celery_queue_depth": 2, "celery_workers": 1}
    beat.stop()
    assert _gauges(collector)["celery_workers"] == 0


# --- multiprocess mode ------------------------------------------------------------------------

_RECORD = """
from fastapi_app.core import metrics
metrics.record_processed("pdf", "completed", 0.5)
metrics.record_upload("pdf")
"""
_RENDER = """
from fastapi_app.core import metrics
print(metrics.render_latest().decode())
"""


def test_multiprocess_mode_sums_processes_and_reads_the_dir_from_settings(tmp_path: Path) -> None:
    shared = tmp_path / "prom"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(PYTHONPATH=str(ROOT), CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'b.sqlite3'}")
    recording_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    for _ in range(2):  # two processes, as two prefork children would
        subprocess.run([sys.executable, "-c", _RECORD], env=recording_env, check=True)
    # The scraping process gets the dir from Settings only (as from .env, which is not the environment).
    from_settings = (
        "from fastapi_app.core import config\n"
        f"settings = config.Settings(PROMETHEUS_MULTIPROC_DIR={str(shared)!r})\n"
        "config.get_settings = lambda: settings\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", from_settings + _RENDER], env=env, check=True, capture_output=True, text=True
    ).stdout
    families = {f.name: f for f in text_string_to_metric_families(out)}
    processed = {
        (s.labels["file_type"], s.labels["status"]): s.value
        for s in families["documents_processed"].samples
        if s.name == "documents_processed_total"
    }
    assert processed[("pdf", "completed")] == 2
    assert "celery_workers" in families

    # An empty variable (a blank line of an exported .env) must not switch multiprocess mode on.
    blank = subprocess.run(
        [sys.executable, "-c", _RECORD + "import os; print(metrics.MULTIPROC_DIR, sorted(os.listdir('.')))"],
        env={**env, "PROMETHEUS_MULTIPROC_DIR": ""},
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert blank.startswith("None") and ".db" not in blank
