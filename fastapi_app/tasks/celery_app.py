"""The Celery application: `celery -A fastapi_app.tasks.celery_app worker`."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import (
    setup_logging,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from kombu import Queue

from fastapi_app.core.config import get_settings

settings = get_settings()

celery_app = Celery("fastapi_app", include=["fastapi_app.tasks.document_tasks", "fastapi_app.tasks.webhook_tasks"])

_transport_options: dict[str, Any] = {}
if settings.broker_kind == "redis":
    # A message whose worker vanished is redelivered after this long; longer than any task.
    _transport_options = {"visibility_timeout": max(settings.CELERY_TASK_TIME_LIMIT * 2, 900)}

_broker_url = settings.broker_url
if settings.broker_kind == "embedded":
    from fastapi_app.tasks.embedded_broker import embedded_broker_url

    _broker_url = embedded_broker_url(_broker_url)
    # Celery reads CELERY_BROKER_URL from the environment in preference to its configuration,
    # so the faster-polling alias must be written there too.
    if os.environ.get("CELERY_BROKER_URL"):
        os.environ["CELERY_BROKER_URL"] = _broker_url

celery_app.conf.update(
    broker_url=_broker_url,
    result_backend=settings.CELERY_RESULT_BACKEND or None,
    task_ignore_result=True,  # status lives in our own database, not in a result backend
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Recycle pool children regularly too: parser caches and heap fragmentation grow slowly.
    worker_max_tasks_per_child=settings.CELERY_MAX_TASKS_PER_CHILD or None,
    task_soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    task_time_limit=settings.CELERY_TASK_TIME_LIMIT,
    task_track_started=True,
    worker_send_task_events=True,
    task_send_sent_event=settings.CELERY_TASK_SENT_EVENT,
    broker_connection_retry_on_startup=True,
    broker_transport_options=_transport_options,
    task_default_queue=settings.CELERY_QUEUE,
    # A worker without -Q consumes every queue listed here: documents and webhook deliveries.
    task_queues=[Queue(name) for name in dict.fromkeys((settings.CELERY_QUEUE, settings.CELERY_WEBHOOK_QUEUE))],
    task_routes={"webhooks.*": {"queue": settings.CELERY_WEBHOOK_QUEUE}},
    task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER,
    worker_hijack_root_logger=False,
    enable_utc=True,
    timezone="UTC",
    # Recycling a child is the only cure for native leaks (pdfium, tesseract); None = never.
    worker_max_memory_per_child=settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD or None,
    # The sweep is the safety net for messages lost with a dead worker or a restarted Redis (the broker's
    # own redelivery waits for visibility_timeout, 15 min+). It is idempotent, but run one beat only.
    beat_schedule={
        "recover-stale-documents": {
            "task": "documents.recover_stale",
            "schedule": settings.RECOVERY_SWEEP_SECONDS,
            "options": {"expires": settings.RECOVERY_SWEEP_SECONDS},
        }
    },
)


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
    from fastapi_app.tasks.document_tasks import recover_stale_documents

    recover_stale_documents.delay()


_heartbeat: Any = None


@worker_ready.connect
def _start_worker_metrics(sender: Any = None, **_: Any) -> None:
    # Main process only (worker_ready is not sent in pool children): one heartbeat per worker.
    global _heartbeat
    from fastapi_app.core import metrics

    current = get_settings()
    hostname = getattr(sender, "hostname", None) or "worker"
    _heartbeat = metrics.WorkerHeartbeat(hostname, _broker_url, current.broker_kind)
    _heartbeat.start()
    if current.WORKER_METRICS_PORT:
        metrics.start_worker_metrics_server(current.WORKER_METRICS_PORT)


@worker_shutdown.connect
def _stop_worker_metrics(**_: Any) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()


@worker_process_shutdown.connect
def _mark_metrics_process_dead(pid: int | None = None, **_: Any) -> None:
    from fastapi_app.core.metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())


app = celery_app  # `celery -A fastapi_app.tasks.celery_app` finds either name
