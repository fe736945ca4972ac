"""Prometheus metrics: definitions, request timing (called by core/middleware.py) and the gauges read at scrape time.

Counters and histograms live in prometheus_client. With PROMETHEUS_MULTIPROC_DIR set, every process
(uvicorn/gunicorn workers, Celery prefork children) writes its values to files in that directory and
`/metrics` sums them, so the worker-side document counters show up in the API's output when both run
on the same host. The directory must be emptied before the processes start, never while they run.

The broker gauges (queue depth, live workers) are not stored anywhere: they are read from Redis (or
the embedded broker's SQLite file) when `/metrics` is scraped, with short timeouts, and report -1
when the broker cannot be read.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from starlette.types import Scope

from fastapi_app.core.config import get_settings

logger = logging.getLogger("fastapi_app.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _configure_multiprocess_env() -> str | None:
    # prometheus_client chooses between in-memory and file-backed values from the *environment*,
    # and the mere presence of the variable switches it on: an empty value (an exported blank
    # line of .env) would write .db files into the working directory, so drop it.
    if os.environ.get(MULTIPROC_ENV) == "":
        del os.environ[MULTIPROC_ENV]
    configured = get_settings().PROMETHEUS_MULTIPROC_DIR
    if configured and not os.environ.get(MULTIPROC_ENV):
        os.environ[MULTIPROC_ENV] = configured  # a value from .env only reaches the Settings object
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
    return path or None


MULTIPROC_DIR = _configure_multiprocess_env()

from prometheus_client import (  # noqa: E402  (the environment above must be settled first)
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric  # noqa: E402
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4  # noqa: E402

# Another import (Flower, a library) may have loaded prometheus_client before the variable was set.
values.ValueClass = values.get_value_class()
# `_created` series double the output and no dashboard of ours uses them.
disable_created_metrics()

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
UNMATCHED_ROUTE = "<unmatched>"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration, by method, route template and status class.",
    ["method", "route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests, by method, route template and status code.",
    ["method", "route", "status"],
)
DOCUMENTS_UPLOADED = Counter(
    "documents_uploaded",
    "Documents accepted by the upload endpoint (202), by file type.",
    ["file_type"],
)
DOCUMENTS_PROCESSED = Counter(
    "documents_processed",
    "Processing runs that ended, by file type and final status (completed or failed).",
    ["file_type", "status"],
)
DOCUMENT_PROCESSING_SECONDS = Histogram(
    "document_processing_seconds",
    "Wall time of the task delivery that finished a processing run, by file type.",
    ["file_type"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
)
PROCESSING_STAGES = ("extract", "analyze", "report", "save")
DOCUMENT_STAGE_SECONDS = Histogram(
    "document_stage_seconds",
    "Time a processing run spent in one stage (extract includes OCR), by stage and file type.",
    ["stage", "file_type"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
)
WEBHOOK_OUTCOMES = ("success", "retry", "give_up")
WEBHOOK_ATTEMPTS = Counter(
    "webhook_delivery_attempts",
    "Webhook delivery attempts, by outcome: success, retry (will be tried again) or give_up.",
    ["outcome"],
)
# livesum: the processes of this host's workers (main and pool children) each report their own RSS;
# files of exited processes are dropped by mark_process_dead, so the sum covers live ones only.
WORKER_RESIDENT_MEMORY = Gauge(
    "celery_worker_resident_memory_bytes",
    "Resident memory of the Celery worker processes (main and pool children), summed.",
    multiprocess_mode="livesum",
)


# --- HTTP ------------------------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/documents/{document_id}`), never the raw path:
    raw paths carry ids and would make one series per document."""
    # A router included under a prefix (each API router is, twice: /api/v1 and /api) keeps its own
    # relative path on the route; FastAPI records the full template of the match beside it.
    matched = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(matched, "path_format", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


def method_label(method: str | None) -> str:
    # Clients may send any token as a method; unbounded label values would be a cardinality leak.
    return method if method in _KNOWN_METHODS else "OTHER"


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "5xx"


class _Observer(Protocol):
    def observe(self, amount: float) -> None: ...


class _Incrementer(Protocol):
    def inc(self, amount: float = 1) -> None: ...


# labels() takes a lock and builds a key on every call; the label sets are few (routes x methods x
# statuses), so the children are cached once and each request costs two lock-free dict lookups.
_request_children: dict[tuple[str, str, int], tuple[_Observer, _Incrementer]] = {}


def observe_request(method: str | None, route: str, status: int, seconds: float) -> None:
    key = (method_label(method), route, status)
    children = _request_children.get(key)
    if children is None:
        children = (
            HTTP_REQUEST_DURATION.labels(key[0], route, status_class(status)),
            HTTP_REQUESTS.labels(key[0], route, str(status)),
        )
        _request_children[key] = children
    children[0].observe(seconds)
    children[1].inc()


# --- documents -------------------------------------------------------------------------------


def record_upload(file_type: str | None) -> None:
    DOCUMENTS_UPLOADED.labels(file_type or "unknown").inc()


def record_processed(file_type: str | None, status: str, seconds: float) -> None:
    label = file_type or "unknown"
    DOCUMENTS_PROCESSED.labels(label, status).inc()
    DOCUMENT_PROCESSING_SECONDS.labels(label).observe(seconds)


def record_stage(stage: str, file_type: str | None, seconds: float) -> None:
    DOCUMENT_STAGE_SECONDS.labels(stage, file_type or "unknown").observe(seconds)


def record_webhook_attempt(outcome: str) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome if outcome in WEBHOOK_OUTCOMES else "give_up").inc()


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_memory_bytes() -> int | None:
    """This process's current RSS from /proc (one small read; None where there is no /proc)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def record_worker_memory() -> None:
    rss = resident_memory_bytes()
    if rss is not None:
        WORKER_RESIDENT_MEMORY.set(rss)


# --- storage gauges (computed at scrape time) ------------------------------------------------


class StorageCollector:
    """storage_free_bytes and storage_size_bytes of the filesystems holding uploads and reports
    (a statvfs each, no disk I/O). Uploads in S3 have no meaningful free space: only reports then."""

    def collect(self) -> Iterator[Metric]:
        settings = get_settings()
        directories = {"reports": settings.REPORTS_DIR}
        if settings.STORAGE_BACKEND == "local":
            directories["uploads"] = settings.UPLOAD_DIR
        free = GaugeMetricFamily(
            "storage_free_bytes", "Bytes free to the service on a directory's filesystem.", labels=["directory"]
        )
        size = GaugeMetricFamily("storage_size_bytes", "Size of the filesystem of a directory.", labels=["directory"])
        for name, path in sorted(directories.items()):
            try:
                stat = os.statvfs(path)
            except OSError:  # not created yet: nothing stored there, nothing to report
                continue
            free.add_metric([name], stat.f_bavail * stat.f_frsize)
            size.add_metric([name], stat.f_blocks * stat.f_frsize)
        yield free
        yield size

    def describe(self) -> Iterable[Metric]:
        return []


# --- broker gauges (computed at scrape time) -------------------------------------------------

BROKER_TIMEOUT_S = 0.1
BROKER_RETRY_AFTER_S = 10.0  # after a failure, report -1 without asking again for this long
HEARTBEAT_INTERVAL_S = 5.0
HEARTBEAT_TTL_S = 15  # three missed beats: the worker is gone
WORKERS_SET = "metrics:celery-workers"
WORKER_KEY_PREFIX = "metrics:celery-worker:"
# kombu's Redis transport keeps one list per priority step; messages without a priority use the bare name.
_REDIS_PRIORITY_SEPARATOR = "\x06\x16"
_REDIS_PRIORITY_STEPS = (3, 6, 9)


class _Probe:
    """Runs a broker read; on failure returns -1, logs once until it works again, and backs off so a
    dead broker does not slow every scrape down by a timeout."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failing = False
        self.retry_at = 0.0

    def __call__(self, read: Callable[[], int]) -> int:
        now = time.monotonic()
        if self.failing and now < self.retry_at:
            return -1
        try:
            value = read()
        except Exception as exc:
            if not self.failing:
                logger.warning("metrics: cannot read %s (%s: %s); reporting -1", self.name, type(exc).__name__, exc)
            self.failing = True
            self.retry_at = now + BROKER_RETRY_AFTER_S
            return -1
        if self.failing:
            logger.info("metrics: %s readable again", self.name)
            self.failing = False
        return value


@lru_cache(maxsize=4)
def _redis_client(url: str) -> Any:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: a scrape must answer within tens of milliseconds, broker or not.
    return redis.Redis.from_url(
        url,
        socket_timeout=BROKER_TIMEOUT_S,
        socket_connect_timeout=BROKER_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def _redis_queue_depth(url: str, queue: str) -> int:
    keys = [queue, *(f"{queue}{_REDIS_PRIORITY_SEPARATOR}{step}" for step in _REDIS_PRIORITY_STEPS)]
    pipe = _redis_client(url).pipeline(transaction=False)
    for key in keys:
        pipe.llen(key)
    return int(sum(pipe.execute()))


def _redis_live_workers(url: str) -> int:
    client = _redis_client(url)
    members = list(client.smembers(WORKERS_SET))
    if not members:
        return 0
    pipe = client.pipeline(transaction=False)
    for member in members:
        pipe.exists(WORKER_KEY_PREFIX + member.decode())
    alive = pipe.execute()
    dead = [member for member, exists in zip(members, alive, strict=True) if not exists]
    if dead:  # a worker that stopped beating; it re-adds itself at its next beat if merely slow
        client.srem(WORKERS_SET, *dead)
    return sum(1 for exists in alive if exists)


def _sqlite_path(broker_url: str) -> Path | None:
    # sqla+sqlite:///abs/path or sqla-fast+sqlite:///abs/path (the alias the worker registers).
    scheme, sep, rest = broker_url.partition("://")
    if not sep or not scheme.endswith("+sqlite") or not rest.startswith("/"):
        return None
    return Path(rest[1:]).resolve()


def _embedded_queue_depth(broker_url: str, queue: str) -> int:
    path = _sqlite_path(broker_url)
    if path is None:
        raise ValueError(f"unsupported embedded broker URL scheme: {broker_url.split('://', 1)[0]}")
    if not path.exists():
        return 0  # nothing was ever published
    # Read-only and a short busy timeout: never take a lock the worker's polling would wait on.
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BROKER_TIMEOUT_S)
    try:
        row = conn.execute(
            "SELECT count(*) FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id "
            "WHERE q.name = ? AND m.visible = 1",
            (queue,),
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0  # the transport creates its tables on first use
        raise
    finally:
        conn.close()
    return int(row[0])


def embedded_heartbeat_dir(broker_url: str) -> Path | None:
    """Heartbeat files of the embedded broker's workers: next to its SQLite file, which the API and
    the workers share by construction (the embedded broker is single-host)."""
    path = _sqlite_path(broker_url)
    return path.with_name(path.name + ".workers") if path is not None else None


def _embedded_live_workers(broker_url: str) -> int:
    directory = embedded_heartbeat_dir(broker_url)
    if directory is None:
        raise ValueError("unsupported embedded broker URL")
    if not directory.is_dir():
        return 0
    cutoff = time.time() - HEARTBEAT_TTL_S
    alive = 0
    for entry in os.scandir(directory):
        try:
            if entry.stat().st_mtime >= cutoff:
                alive += 1
        except FileNotFoundError:  # removed by a worker shutting down while we scanned
            continue
    return alive


def _broker_url() -> str:
    # The worker rewrites the embedded URL to a faster-polling alias; both name the same file.
    return get_settings().broker_url


class BrokerCollector:
    """celery_queue_depth and celery_workers, read from the broker when scraped."""

    def __init__(self, queue: str | None = None) -> None:
        self.queue = queue or get_settings().CELERY_QUEUE
        self._depth_probe = _Probe("queue depth")
        self._workers_probe = _Probe("live workers")

    def _readers(self) -> tuple[Callable[[], int], Callable[[], int]]:
        settings = get_settings()
        url = _broker_url()
        if settings.broker_kind == "redis":
            return (lambda: _redis_queue_depth(url, self.queue), lambda: _redis_live_workers(url))
        if settings.broker_kind == "embedded":
            return (lambda: _embedded_queue_depth(url, self.queue), lambda: _embedded_live_workers(url))

        def unsupported() -> int:
            raise ValueError(f"no metrics reader for broker {settings.broker_kind}")

        return unsupported, unsupported

    def collect(self) -> Iterator[Metric]:
        read_depth, read_workers = self._readers()
        depth = GaugeMetricFamily(
            "celery_queue_depth", "Messages waiting in the Celery queue (-1: broker unreadable).", labels=["queue"]
        )
        depth.add_metric([self.queue], self._depth_probe(read_depth))
        yield depth
        yield GaugeMetricFamily(
            "celery_workers",
            "Celery workers with a recent heartbeat (-1: broker unreadable).",
            value=self._workers_probe(read_workers),
        )

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not touch the broker


class _Combined:
    def __init__(self, *sources: Any) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def process_registry() -> Any:
    """What this host's processes recorded: every process's files in multiprocess mode, else ours."""
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
        return registry
    return REGISTRY


@lru_cache
def _scrape_source() -> _Combined:
    return _Combined(process_registry(), BrokerCollector(), StorageCollector())


class _Fixed:
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def oldest_pending_family(seconds: float) -> Metric:
    """The age of the oldest queued document, measured by the caller (it lives in the database)."""
    return GaugeMetricFamily(
        "documents_oldest_pending_age_seconds",
        "Seconds the oldest document waiting for a worker has been queued (0: none; -1: database unreadable).",
        value=seconds,
    )


def render_latest(extra: Iterable[Metric] = ()) -> bytes:
    """This host's processes, the broker and storage gauges, and `extra` families measured by the caller."""
    return generate_latest(_Combined(_scrape_source(), _Fixed(extra)))  # type: ignore[arg-type]


def mark_process_dead(pid: int) -> None:
    """Drop a dead process's live-gauge files (counters and histograms stay: totals never go back)."""
    if MULTIPROC_DIR:
        multiprocess.mark_process_dead(pid, MULTIPROC_DIR)


# --- worker side: heartbeat and optional HTTP endpoint ----------------------------------------


class WorkerHeartbeat:
    """A daemon thread in the worker's main process marking it alive every few seconds: a Redis key
    with a TTL (the broker is Redis) or a file whose mtime is the beat (the embedded broker)."""

    def __init__(self, hostname: str, broker_url: str, broker_kind: str) -> None:
        self.hostname = hostname
        self.broker_url = broker_url
        self.broker_kind = broker_kind
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        if self.broker_kind not in ("redis", "embedded"):
            return
        self.beat()  # counted from the moment the worker is ready, not one interval later
        self._thread = threading.Thread(target=self._run, name="metrics-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_INTERVAL_S):
            self.beat()

    def beat(self) -> None:
        record_worker_memory()
        try:
            if self.broker_kind == "redis":
                pipe = _redis_client(self.broker_url).pipeline(transaction=True)
                pipe.set(WORKER_KEY_PREFIX + self.hostname, "1", ex=HEARTBEAT_TTL_S)
                pipe.sadd(WORKERS_SET, self.hostname)
                pipe.execute()
            else:
                directory = embedded_heartbeat_dir(self.broker_url)
                if directory is None:
                    return
                directory.mkdir(parents=True, exist_ok=True)
                (directory / self.hostname).touch()
        except Exception as exc:  # the broker being down is the broker's problem, not the worker's
            if not self._failing:
                logger.warning("metrics heartbeat failed (%s: %s)", type(exc).__name__, exc)
            self._failing = True
            return
        self._failing = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        try:  # a clean shutdown leaves the count at once instead of after the TTL
            if self.broker_kind == "redis":
                client = _redis_client(self.broker_url)
                client.delete(WORKER_KEY_PREFIX + self.hostname)
                client.srem(WORKERS_SET, self.hostname)
            elif (directory := embedded_heartbeat_dir(self.broker_url)) is not None:
                (directory / self.hostname).unlink(missing_ok=True)
        except Exception:
            logger.debug("could not remove the heartbeat", exc_info=True)


def start_worker_metrics_server(port: int) -> None:
    """Serve this host's worker metrics on `port`: for workers on other hosts than the API, whose
    multiprocess files the API cannot read."""
    from prometheus_client import start_http_server

    if not MULTIPROC_DIR:
        # Prefork children record into their own memory: only the files make them visible here.
        logger.warning("WORKER_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: pool children's metrics are not served")
    start_http_server(port, registry=process_registry())
    logger.info("worker metrics on :%d/metrics", port)
