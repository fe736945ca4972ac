"""The Celery client and its configuration: what the API and the services need to enqueue work
(dispatch.py), without the task code. The worker loads it through fastapi_app/tasks/celery_app.py,
which adds the worker's signal handlers and the task modules (`include`)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from kombu import Queue

from fastapi_app.core.config import get_settings

settings = get_settings()

celery_app = Celery("fastapi_app", include=["fastapi_app.tasks.document_tasks", "fastapi_app.tasks.webhook_tasks"])

_transport_options: dict[str, Any] = {}
if settings.broker_kind == "redis":
    # A message whose worker vanished is redelivered after this long; longer than any task.
    _transport_options = {"visibility_timeout": max(settings.CELERY_TASK_TIME_LIMIT * 2, 900)}

broker_url = settings.broker_url
if settings.broker_kind == "embedded":
    from fastapi_app.queue.embedded_broker import embedded_broker_url

    broker_url = embedded_broker_url(broker_url)
    # Celery reads CELERY_BROKER_URL from the environment in preference to its configuration,
    # so the faster-polling alias must be written there too.
    if os.environ.get("CELERY_BROKER_URL"):
        os.environ["CELERY_BROKER_URL"] = broker_url

celery_app.conf.update(
    broker_url=broker_url,
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
