"""What the admin dashboard reads and does (superusers only; the router checks that): every account and
document, account switches, retries, and the state of the queue, the workers and the storage.

The slow parts (the broker, Celery's control broadcast, the disk) run in worker threads with short
timeouts, so a dead broker costs the operations page a second or two and never blocks the event loop.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
from kombu.utils.url import maybe_sanitize_url
from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.errors import CannotChangeOwnAccount, DocumentNotFound, UserNotFound
from fastapi_app.core.vocabulary import DocumentStatus
from fastapi_app.models import Document, User
from fastapi_app.services import document_service, quota_service, user_service

logger = logging.getLogger("fastapi_app.admin")

INSPECT_TIMEOUT_S = 1.0
BROKER_TIMEOUT_S = 1.0
MAX_OPERATIONS_HOURS = 168
# A reports directory with more entries than this is not summed (the page must stay fast).
MAX_REPORT_FILES_WALKED = 20_000
# kombu's Redis transport keeps messages of priority p > 0 under "<queue>\x06\x16<p>".
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    return column.ilike(f"%{_escape_like(text)}%", escape="\\")  # type: ignore[no-any-return]


def _page_count(total: int, page_size: int) -> int:
    return math.ceil(total / page_size) if total else 0


# --- users ------------------------------------------------------------------------------------


def _usage() -> Any:
    return (
        select(
            Document.owner_id.label("owner_id"),
            func.count().label("document_count"),
            func.coalesce(func.sum(Document.size_bytes), 0).label("storage_bytes"),
        )
        .group_by(Document.owner_id)
        .subquery()
    )


def _users_with_usage() -> tuple[Select[Any], Any]:
    usage = _usage()
    query = select(
        User,
        func.coalesce(usage.c.document_count, 0).label("document_count"),
        func.coalesce(usage.c.storage_bytes, 0).label("storage_bytes"),
    ).outerjoin(usage, usage.c.owner_id == User.id)
    return query, usage


def _admin_user(user: User, document_count: int, storage_bytes: int) -> dict[str, Any]:
    settings = get_settings()
    limits = quota_service.limits_for(
        settings,
        is_superuser=user.is_superuser,
        documents_per_day=user.quota_documents_per_day,
        storage_bytes=user.quota_storage_bytes,
    )
    today = quota_service.quota_day(datetime.now(UTC), ZoneInfo(settings.QUOTA_TIMEZONE))
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "created_at": user.created_at,
        "document_count": int(document_count),
        "storage_bytes": int(storage_bytes),
        "documents_today": quota_service.uploads_on(today, user.uploads_day, user.uploads_today),
        "quota_documents_per_day": user.quota_documents_per_day,
        "quota_storage_bytes": user.quota_storage_bytes,
        "documents_per_day_limit": limits.documents_per_day,
        "storage_bytes_limit": limits.storage_bytes,
    }


async def list_users(
    session: AsyncSession,
    *,
    page: int,
    page_size: int,
    search: str | None = None,
    is_active: bool | None = None,
    is_superuser: bool | None = None,
) -> tuple[list[dict[str, Any]], int, int]:
    """A page of accounts, newest first, each with its document count and stored bytes; the total."""
    conditions: list[ColumnElement[bool]] = []
    if search:
        conditions.append(
            or_(_contains(User.username, search), _contains(User.email, search), _contains(User.full_name, search))
        )
    if is_active is not None:
        conditions.append(User.is_active.is_(is_active))
    if is_superuser is not None:
        conditions.append(User.is_superuser.is_(is_superuser))
    total = int(await session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0)
    query, _ = _users_with_usage()
    rows = (
        await session.execute(
            query.where(*conditions)
            .order_by(User.created_at.desc(), User.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    return [_admin_user(*row) for row in rows], total, _page_count(total, page_size)


async def admin_user(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    query, _ = _users_with_usage()
    row = (await session.execute(query.where(User.id == user_id))).first()
    if row is None:
        raise UserNotFound()
    return _admin_user(*row)


QUOTA_OVERRIDES = ("quota_documents_per_day", "quota_storage_bytes")


async def update_user(
    session: AsyncSession,
    actor: User,
    user_id: uuid.UUID,
    *,
    is_active: bool | None,
    is_superuser: bool | None,
    quotas: dict[str, int | None] | None = None,
) -> dict[str, Any]:
    """Switch an account on or off, grant or take superuser rights, or set its quota overrides (`quotas`:
    the QUOTA_OVERRIDES given, a None clears one back to the default). Switching one off ends all its
    sessions (`user_service.set_active`, as `python -m fastapi_app user disable` does). Nobody can switch
    off or demote themself: the last superuser could otherwise lock everyone out of the dashboard."""
    target = await session.get(User, user_id)
    if target is None:
        raise UserNotFound()
    if target.id == actor.id and (is_active is False or is_superuser is False):
        raise CannotChangeOwnAccount()
    if is_superuser is not None and is_superuser != target.is_superuser:
        target.is_superuser = is_superuser
        logger.info("user %s superuser=%s by %s", target.id, is_superuser, actor.id)
    for name, value in (quotas or {}).items():
        if name not in QUOTA_OVERRIDES:
            raise ValueError(f"not a quota override: {name}")
        if getattr(target, name) != value:
            setattr(target, name, value)
            logger.info("user %s %s=%s by %s", target.id, name, value, actor.id)
    if is_active is not None and is_active != target.is_active:
        await user_service.set_active(session, target, is_active)  # commits, and announces ended sessions
        logger.info("user %s active=%s by %s", target.id, is_active, actor.id)
    else:
        await session.commit()
    return await admin_user(session, user_id)


# --- documents --------------------------------------------------------------------------------


def _owner_condition(owner: str) -> ColumnElement[bool]:
    try:
        owner_id = uuid.UUID(owner)
    except ValueError:
        return User.username == owner
    # A username may look like an id (letters, digits and dashes): either matches.
    return or_(Document.owner_id == owner_id, User.username == owner)


async def list_documents(
    session: AsyncSession,
    *,
    page: int,
    page_size: int,
    status: str | None = None,
    file_type: str | None = None,
    search: str | None = None,
    owner: str | None = None,
) -> tuple[list[tuple[Document, str]], int, int]:
    """A page of everyone's documents with their owner's username: failed first, then newest first."""
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(Document.status == status)
    if file_type:
        conditions.append(Document.file_type == file_type)
    if search:
        conditions.append(_contains(Document.original_filename, search))
    if owner:
        conditions.append(_owner_condition(owner))
    joined = select(Document, User.username).join(User, User.id == Document.owner_id).where(*conditions)
    total = int(
        await session.scalar(
            select(func.count()).select_from(Document).join(User, User.id == Document.owner_id).where(*conditions)
        )
        or 0
    )
    failed_first = case((Document.status == DocumentStatus.FAILED, 0), else_=1)
    rows = (
        await session.execute(
            joined.order_by(failed_first, Document.created_at.desc(), Document.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    return [(document, username) for document, username in rows], total, _page_count(total, page_size)


async def retry(session: AsyncSession, document_id: uuid.UUID, settings: Settings) -> tuple[Document, str]:
    """Reprocess anyone's document, by the owner's own rules (`document_service.reprocess`: a new run,
    enqueued once committed; 409 DOCUMENT_BUSY while one is queued or processing)."""
    row = (
        await session.execute(
            select(Document, User.username).join(User, User.id == Document.owner_id).where(Document.id == document_id)
        )
    ).first()
    if row is None:
        raise DocumentNotFound()
    document, username = row
    document = await document_service.reprocess(session, document, settings)
    logger.info("document %s queued again by an admin (run %s)", document.id, document.current_run)
    return document, username


# --- operations -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerState:
    reachable: bool
    depths: dict[str, int | None]


def _queue_names(settings: Settings) -> list[str]:
    return list(dict.fromkeys((settings.CELERY_QUEUE, settings.CELERY_WEBHOOK_QUEUE)))


def _broker_state(settings: Settings) -> BrokerState:
    """Reachability and the queues' depths: LLEN on Redis; the embedded broker cannot tell depths."""
    names = _queue_names(settings)
    if settings.broker_kind == "redis":
        import redis

        client = redis.Redis.from_url(
            settings.broker_url, socket_connect_timeout=BROKER_TIMEOUT_S, socket_timeout=BROKER_TIMEOUT_S
        )
        try:
            with client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.llen(name)
                    for step in _PRIORITY_STEPS:
                        pipe.llen(f"{name}{_PRIORITY_SEP}{step}")
                lengths = pipe.execute()
        except redis.RedisError as exc:
            logger.warning("broker unreachable for the operations page: %s", type(exc).__name__)
            return BrokerState(False, dict.fromkeys(names))
        finally:
            client.close()
        per_queue = 1 + len(_PRIORITY_STEPS)
        depths: dict[str, int | None] = {
            name: int(sum(lengths[i * per_queue : (i + 1) * per_queue])) for i, name in enumerate(names)
        }
        return BrokerState(True, depths)
    from fastapi_app.queue.app import celery_app

    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
    except Exception as exc:  # any transport error means the same here: not reachable
        logger.warning("broker unreachable for the operations page: %s", type(exc).__name__)
        return BrokerState(False, dict.fromkeys(names))
    return BrokerState(True, dict.fromkeys(names))


def _workers() -> list[dict[str, Any]]:
    """The workers that answer a ping within INSPECT_TIMEOUT_S, with what their stats say."""
    from fastapi_app.queue.app import celery_app

    try:
        pongs = celery_app.control.inspect(timeout=INSPECT_TIMEOUT_S).ping() or {}
        names = sorted(pongs)
        if not names:
            return []
        # Addressed to the workers that answered and limited to their number: no second full timeout.
        targeted = celery_app.control.inspect(timeout=INSPECT_TIMEOUT_S, destination=names, limit=len(names))
        stats = targeted.stats() or {}
        active = targeted.active() or {}
    except Exception as exc:  # a transport without broadcast (the embedded broker), or the broker down
        logger.warning("could not inspect the workers: %s: %s", type(exc).__name__, exc)
        return []
    workers = []
    for name in names:
        worker_stats = stats.get(name) or {}
        totals = worker_stats.get("total") or {}
        running = active.get(name)
        workers.append(
            {
                "name": name,
                "alive": True,
                "active": len(running) if running is not None else None,
                "processed": int(sum(totals.values())) if worker_stats else None,
                "concurrency": (worker_stats.get("pool") or {}).get("max-concurrency"),
            }
        )
    return workers


def _directory_bytes(root: Path) -> int | None:
    """The size of the files under `root`, or None when there are more than MAX_REPORT_FILES_WALKED."""
    if not root.is_dir():
        return 0
    total, seen = 0, 0
    for directory, _, files in os.walk(root):
        for name in files:
            seen += 1
            if seen > MAX_REPORT_FILES_WALKED:
                return None
            try:
                total += (Path(directory) / name).stat().st_size
            except FileNotFoundError:  # deleted with its document meanwhile
                continue
    return total


def _disk(settings: Settings) -> dict[str, int | None]:
    report_bytes = _directory_bytes(settings.REPORTS_DIR)
    if settings.STORAGE_BACKEND != "local":
        return {"disk_free_bytes": None, "disk_total_bytes": None, "report_bytes": report_bytes}
    try:
        usage = shutil.disk_usage(settings.UPLOAD_DIR)
    except OSError as exc:  # not created yet on this host, or not mounted
        logger.warning("no disk usage for UPLOAD_DIR: %s", type(exc).__name__)
        return {"disk_free_bytes": None, "disk_total_bytes": None, "report_bytes": report_bytes}
    return {"disk_free_bytes": usage.free, "disk_total_bytes": usage.total, "report_bytes": report_bytes}


def _hour_bucket(dialect: str) -> Any:
    # The start of completed_at's hour in UTC, as text or a naive timestamp: one GROUP BY per dialect.
    if dialect == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", Document.completed_at))
    return func.strftime("%Y-%m-%d %H:00:00", Document.completed_at)


def _as_hour(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _throughput(session: AsyncSession, hours: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    last = now.replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    bucket = _hour_bucket(session.get_bind().dialect.name).label("hour")
    rows = (
        await session.execute(
            select(bucket, Document.status, func.count())
            .where(
                Document.completed_at >= first,
                Document.status.in_([DocumentStatus.COMPLETED, DocumentStatus.FAILED]),
            )
            .group_by(bucket, Document.status)
        )
    ).all()
    series = {first + timedelta(hours=i): {"completed": 0, "failed": 0} for i in range(hours)}
    for hour, status, count in rows:
        counts = series.get(_as_hour(hour))
        if counts is not None:
            counts[status] += int(count)
    return [{"hour": hour, **counts} for hour, counts in series.items()]


async def operations(session: AsyncSession, settings: Settings, hours: int) -> dict[str, Any]:
    """The operations page: queues, workers, broker, hourly throughput, storage and totals."""
    hours = max(1, min(hours, MAX_OPERATIONS_HOURS))
    results: dict[str, Any] = {}

    async def in_thread(key: str, work: Any, *args: Any) -> None:
        results[key] = await anyio.to_thread.run_sync(work, *args)

    async with anyio.create_task_group() as group:
        group.start_soon(in_thread, "broker", _broker_state, settings)
        group.start_soon(in_thread, "workers", _workers)
        group.start_soon(in_thread, "disk", _disk, settings)
        # The database's share runs meanwhile, on the request's session.
        throughput = await _throughput(session, hours)
        by_status = dict((await session.execute(select(Document.status, func.count()).group_by(Document.status))).all())
        stored = (await session.execute(select(func.count(), func.coalesce(func.sum(Document.size_bytes), 0)))).one()
        users = int(await session.scalar(select(func.count()).select_from(User)) or 0)
    broker: BrokerState = results["broker"]
    completed = sum(hour["completed"] for hour in throughput)
    failed = sum(hour["failed"] for hour in throughput)
    disk = results["disk"]
    return {
        "generated_at": datetime.now(UTC),
        "queues": [{"name": name, "depth": depth} for name, depth in broker.depths.items()],
        "workers": results["workers"],
        "broker": {
            "kind": settings.broker_kind,
            "url_redacted": str(maybe_sanitize_url(settings.broker_url)),
            "reachable": broker.reachable,
        },
        "throughput": throughput,
        "failure_rate": round(failed / (completed + failed), 4) if completed + failed else None,
        "storage": {
            "backend": settings.STORAGE_BACKEND,
            "documents_bytes": int(stored[1]),
            "files": int(stored[0]),
            **disk,
        },
        "totals": {
            "users": users,
            "documents": int(stored[0]),
            "by_status": {s.value: int(by_status.get(s.value, 0)) for s in DocumentStatus},
        },
        "links": {"flower": settings.FLOWER_PUBLIC_URL or None, "metrics": "/metrics"},
    }
