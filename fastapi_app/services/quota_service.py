"""Per-account upload quotas: documents accepted per day and bytes of originals kept.

Each limit is the account's override (set by an admin; null = the QUOTA_* setting's default) or the
default; 0 = unlimited either way. Superusers ignore the defaults: only an override on their own
account limits them. A duplicate upload counts like any other (it is stored and processed again).

The day's count is a counter on the account (`uploads_day`, `uploads_today`), raised by the upload's
own transaction, so deleting a document gives back its bytes but not its place in the day. The
transaction's first statement is that conditional UPDATE: it locks the account's row (PostgreSQL) or
takes SQLite's write lock, so two parallel uploads of one account are checked one after the other and
cannot both take the last unit of a quota.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, Select, Update, bindparam, case, func, literal_column, select, update

from fastapi_app.core.config import Settings
from fastapi_app.core.errors import DailyDocumentQuotaExceeded, StorageQuotaExceeded
from fastapi_app.db import direct
from fastapi_app.models import Document, User

_USERS = User.__table__
_DOCUMENTS = Document.__table__


@dataclass(frozen=True, slots=True)
class Limits:
    """An account's effective limits; None = unlimited."""

    documents_per_day: int | None
    storage_bytes: int | None


def effective_limit(override: int | None, default: int, *, is_superuser: bool) -> int | None:
    if override is not None:
        return override or None
    if is_superuser:
        return None
    return default or None


def limits_for(
    settings: Settings, *, is_superuser: bool, documents_per_day: int | None, storage_bytes: int | None
) -> Limits:
    """The effective limits of an account with these overrides."""
    return Limits(
        documents_per_day=effective_limit(
            documents_per_day, settings.QUOTA_DOCUMENTS_PER_DAY, is_superuser=is_superuser
        ),
        storage_bytes=effective_limit(storage_bytes, settings.QUOTA_STORAGE_BYTES, is_superuser=is_superuser),
    )


def quota_day(now: datetime, zone: ZoneInfo) -> date:
    """The quota day `now` falls in: the date in `zone`."""
    return now.astimezone(zone).date()


def seconds_to_next_day(now: datetime, zone: ZoneInfo) -> int:
    """Whole seconds (at least 1) from `now` to the next midnight in `zone`: a full day's Retry-After."""
    tomorrow = quota_day(now, zone) + timedelta(days=1)
    # Through UTC: an aware subtraction within one zone ignores a DST change in between.
    midnight = datetime.combine(tomorrow, time(0), tzinfo=zone).astimezone(UTC)
    return max(1, math.ceil((midnight - now.astimezone(UTC)).total_seconds()))


def uploads_on(day: date, counted_day: date | None, counted: int) -> int:
    """The uploads of `day`, from the account's counter (which counts `counted_day`'s)."""
    return counted if counted_day == day else 0


def check_upload(limits: Limits, *, uploads_before: int, storage_used: int, size: int, retry_after: int) -> None:
    """Refuse an upload of `size` bytes that would pass a limit: the day's count first, then storage."""
    if limits.documents_per_day is not None and uploads_before + 1 > limits.documents_per_day:
        raise DailyDocumentQuotaExceeded(
            f"The daily quota of {limits.documents_per_day} documents is used up; "
            f"it starts again in {retry_after} seconds.",
            details={"limit": limits.documents_per_day, "used": uploads_before, "retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
    if limits.storage_bytes is not None and storage_used + size > limits.storage_bytes:
        raise StorageQuotaExceeded(
            f"This file ({size} bytes) would take the account's stored documents past its quota of "
            f"{limits.storage_bytes} bytes ({storage_used} used); delete documents to free space.",
            details={"limit": limits.storage_bytes, "used": storage_used, "size": size},
        )


# --- statements -------------------------------------------------------------------------------


def _account() -> Select[Any]:
    return select(
        _USERS.c.is_superuser,
        _USERS.c.quota_documents_per_day,
        _USERS.c.quota_storage_bytes,
        _USERS.c.uploads_day,
        _USERS.c.uploads_today,
    ).where(_USERS.c.id == bindparam("owner_id"))


def _count_upload() -> Update:
    today = bindparam("today", type_=Date)
    # Literals, not bound: the asyncpg path binds only the parameters the caller names.
    one = literal_column("1", Integer)
    return (
        update(_USERS)
        .where(_USERS.c.id == bindparam("owner_id"))
        .values(
            uploads_today=case((_USERS.c.uploads_day == today, _USERS.c.uploads_today + one), else_=one),
            uploads_day=today,
            # Not a change of the account: keeps the column's onupdate from touching it.
            updated_at=_USERS.c.updated_at,
        )
        .returning(
            _USERS.c.is_superuser,
            _USERS.c.quota_documents_per_day,
            _USERS.c.quota_storage_bytes,
            _USERS.c.uploads_today,
        )
    )


def _storage_used() -> Select[Any]:
    return select(func.coalesce(func.sum(_DOCUMENTS.c.size_bytes), literal_column("0", Integer))).where(
        _DOCUMENTS.c.owner_id == bindparam("owner_id")
    )


async def _stored_bytes(fetch: Any, owner_id: uuid.UUID) -> int:
    rows = await fetch("quota-storage-used", _storage_used, {"owner_id": owner_id})
    return int(rows[0][0])


async def check_before_storing(owner_id: uuid.UUID, size: int, settings: Settings) -> None:
    """The quota check of an upload before its bytes are stored: refuses early, without a lock.
    `count_upload` decides for good, in the upload's transaction."""
    rows = await direct.fetch("quota-account", _account, {"owner_id": owner_id})
    if not rows:
        return  # the account is gone: the upload's insert refuses it
    is_superuser, documents_per_day, storage_bytes, counted_day, counted = rows[0]
    limits = limits_for(
        settings, is_superuser=is_superuser, documents_per_day=documents_per_day, storage_bytes=storage_bytes
    )
    if limits.documents_per_day is None and limits.storage_bytes is None:
        return
    now = datetime.now(UTC)
    zone = ZoneInfo(settings.QUOTA_TIMEZONE)
    check_upload(
        limits,
        uploads_before=uploads_on(quota_day(now, zone), counted_day, counted),
        storage_used=await _stored_bytes(direct.fetch, owner_id) if limits.storage_bytes is not None else 0,
        size=size,
        retry_after=seconds_to_next_day(now, zone),
    )


async def count_upload(statements: direct.Statements, owner_id: uuid.UUID, size: int, settings: Settings) -> None:
    """Count the upload in the account's day, or refuse it (the transaction then rolls the count back).
    Must be the transaction's first statement: it is what serializes one account's uploads."""
    now = datetime.now(UTC)
    zone = ZoneInfo(settings.QUOTA_TIMEZONE)
    rows = await statements.fetch(
        "quota-count-upload", _count_upload, {"owner_id": owner_id, "today": quota_day(now, zone)}
    )
    if not rows:
        return
    is_superuser, documents_per_day, storage_bytes, uploads_today = rows[0]
    limits = limits_for(
        settings, is_superuser=is_superuser, documents_per_day=documents_per_day, storage_bytes=storage_bytes
    )
    if limits.documents_per_day is None and limits.storage_bytes is None:
        return
    check_upload(
        limits,
        uploads_before=int(uploads_today) - 1,
        storage_used=await _stored_bytes(statements.fetch, owner_id) if limits.storage_bytes is not None else 0,
        size=size,
        retry_after=seconds_to_next_day(now, zone),
    )


async def usage(user: User, settings: Settings) -> dict[str, Any]:
    """The account's usage beside its limits (null = unlimited), as GET /api/users/me shows them."""
    limits = limits_for(
        settings,
        is_superuser=user.is_superuser,
        documents_per_day=user.quota_documents_per_day,
        storage_bytes=user.quota_storage_bytes,
    )
    now = datetime.now(UTC)
    zone = ZoneInfo(settings.QUOTA_TIMEZONE)
    return {
        "documents_today": {
            "used": uploads_on(quota_day(now, zone), user.uploads_day, user.uploads_today),
            "limit": limits.documents_per_day,
        },
        "storage_bytes": {"used": await _stored_bytes(direct.fetch, user.id), "limit": limits.storage_bytes},
        "day_resets_in_seconds": seconds_to_next_day(now, zone),
        "timezone": settings.QUOTA_TIMEZONE,
    }
