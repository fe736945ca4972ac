"""The admin dashboard's shapes (superusers only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from fastapi_app.schemas.document import DocumentOut


class AdminDocumentOut(DocumentOut):
    owner_id: uuid.UUID
    owner_username: str


class QueueDepth(BaseModel):
    name: str
    depth: int | None = Field(description="Messages waiting; null when the broker cannot tell (embedded broker)")


class WorkerOut(BaseModel):
    name: str
    alive: bool = True
    active: int | None = Field(default=None, description="Tasks running now; null when the worker did not say")
    processed: int | None = Field(default=None, description="Tasks received since the worker started")
    concurrency: int | None = None


class BrokerOut(BaseModel):
    kind: str
    url_redacted: str
    reachable: bool


class ThroughputHour(BaseModel):
    hour: datetime = Field(description="Start of the hour (UTC)")
    completed: int
    failed: int


class StorageOut(BaseModel):
    backend: str
    documents_bytes: int = Field(description="Sum of the stored originals' sizes")
    files: int = Field(description="Stored originals")
    report_bytes: int | None = Field(default=None, description="Rendered report files cached on this host")
    disk_free_bytes: int | None = Field(description="Free space where UPLOAD_DIR is (local storage)")
    disk_total_bytes: int | None


class TotalsOut(BaseModel):
    users: int
    documents: int
    by_status: dict[str, int]


class LinksOut(BaseModel):
    flower: str | None
    metrics: str = "/metrics"


class OperationsOut(BaseModel):
    generated_at: datetime
    queues: list[QueueDepth]
    workers: list[WorkerOut]
    broker: BrokerOut
    throughput: list[ThroughputHour]
    failure_rate: float | None = Field(description="failed / (completed + failed) over the window")
    storage: StorageOut
    totals: TotalsOut
    links: LinksOut
