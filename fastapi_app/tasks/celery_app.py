"""The Celery application: `celery -A fastapi_app.tasks.celery_app worker`. The client and its
configuration are fastapi_app/queue/app.py; this module adds what only the worker does on its signals."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import (
    setup_logging,
    task_postrun,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from fastapi_app.core.config import get_settings
from fastapi_app.queue.app import broker_url, celery_app


@setup_logging.connect
def _configure_worker_logging(**_: Any) -> None:
    # Connecting this signal stops Celery from installing its own handlers: ours write celery.log.
    from fastapi_app.core.logging import configure_logging

    configure_logging(get_settings(), process="worker")


@worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    # Pooled connections must never be shared between forked processes.
    from fastapi_app.db.session import get_sync_engine

    get_sync_engine().dispose(close=False)
    _sweep_orphaned_copies()


@worker_process_init.connect
def _limit_address_space(**_: Any) -> None:
    # Pool children only: the parent just supervises, and must survive what kills a child.
    from fastapi_app.tasks.limits import limit_address_space

    limit_address_space(get_settings().WORKER_MEMORY_LIMIT_MB)


def _sweep_orphaned_copies() -> None:
    # A child killed at the hard time limit never runs its `finally`; its replacement removes the
    # copy. Older than two hard limits, no running task can still own it.
    from fastapi_app.files.storage import get_storage

    try:
        get_storage().sweep_stale_temp(max_age_s=get_settings().CELERY_TASK_TIME_LIMIT * 2)
    except Exception:  # housekeeping must never stop a worker from starting
        logging.getLogger("fastapi_app.worker").warning("temp sweep failed", exc_info=True)


@worker_ready.connect
def _recover_on_start(**_: Any) -> None:
    # By name, like the beat schedule: the Celery app sits below the task modules it runs.
    celery_app.send_task("documents.recover_stale")


_heartbeat: Any = None


@worker_ready.connect
def _start_worker_metrics(sender: Any = None, **_: Any) -> None:
    # Main process only (worker_ready is not sent in pool children): one heartbeat per worker.
    global _heartbeat
    from fastapi_app.core import metrics

    current = get_settings()
    hostname = getattr(sender, "hostname", None) or "worker"
    _heartbeat = metrics.WorkerHeartbeat(hostname, broker_url, current.broker_kind)
    _heartbeat.start()
    if current.WORKER_METRICS_PORT:
        metrics.start_worker_metrics_server(current.WORKER_METRICS_PORT)


@worker_shutdown.connect
def _stop_worker_metrics(**_: Any) -> None:
    from fastapi_app.core.metrics import mark_process_dead

    if _heartbeat is not None:
        _heartbeat.stop()
    mark_process_dead(os.getpid())  # the main process's memory gauge leaves the sum with it


@worker_process_init.connect
@task_postrun.connect
def _record_worker_memory(**_: Any) -> None:
    # A pool child's RSS changes with the tasks it runs: read it (one /proc read) after each one.
    from fastapi_app.core.metrics import record_worker_memory

    record_worker_memory()


@worker_process_shutdown.connect
def _mark_metrics_process_dead(pid: int | None = None, **_: Any) -> None:
    from fastapi_app.core.metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())


app = celery_app  # `celery -A fastapi_app.tasks.celery_app` finds either name
