"""Engines and sessions: async for the API, sync for Celery workers and scripts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from fastapi_app.core.config import get_settings


def _json_dumps(value: Any) -> str:
    """JSON columns (reports, event details, parts) through orjson: several times faster than the
    standard library on report-sized values. Non-string keys and non-JSON types are refused, as json.dumps
    would refuse them too."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _engine_kwargs(*, asynchronous: bool) -> dict[str, Any]:
    settings = get_settings()
    kwargs: dict[str, Any] = {"echo": settings.DB_ECHO, "json_serializer": _json_dumps}
    if settings.is_sqlite:
        # SQLite: one file shared by API and worker; wait on locks instead of failing.
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(
            pool_size=settings.DB_POOL_SIZE,
            max_overflow=settings.DB_MAX_OVERFLOW,
            pool_pre_ping=True,
            pool_recycle=1800,
        )
    return kwargs


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the worker write while the API reads; foreign keys make ON DELETE CASCADE work.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache
def get_async_engine() -> AsyncEngine:
    settings = get_settings()
    engine = create_async_engine(settings.async_database_url, **_engine_kwargs(asynchronous=True))
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


@lru_cache
def get_sync_engine() -> Engine:
    settings = get_settings()
    engine = create_engine(settings.sync_database_url, **_engine_kwargs(asynchronous=False))
    if settings.is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@lru_cache
def async_session_factory() -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(get_async_engine(), expire_on_commit=False)


@lru_cache
def sync_session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_sync_engine(), expire_on_commit=False)


async def get_async_session() -> AsyncIterator[AsyncSession]:
    async with async_session_factory()() as session:
        yield session
