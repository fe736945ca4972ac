"""The hottest paths' statements, run without the ORM: the reads clients poll, and the upload's write.

Clients poll a document by id and the list page far more often than they do anything else, and the
upload is the busiest write. Their statements are SQLAlchemy Core with named bind parameters (one
definition, in the service layer), compiled once per statement shape. On PostgreSQL they run on a raw
asyncpg pool: no ORM session, no identity map, no unit of work, no greenlet hop and no pre-ping round
trip, which the profiles showed to be most of those requests' CPU time. On SQLite (the embedded
default) the same statements run through the async SQLAlchemy engine, so both backends run one
definition.

Rows come back as sequences of the statement's columns in order (asyncpg Records, SQLAlchemy Rows).
A lost connection (PostgreSQL restarted) is retried once on a fresh connection, for a transaction
only while nothing can have been committed; a database that stays unreachable becomes the 503
`SERVICE_UNAVAILABLE` every other path gives.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import asyncpg
import orjson
from sqlalchemy import Executable, Insert, Table, bindparam, insert, make_url
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import ServiceUnavailable
from fastapi_app.db.hooks import run_committed
from fastapi_app.db.session import get_async_engine

logger = logging.getLogger("fastapi_app.db.direct")

Row = Sequence[Any]
T = TypeVar("T")
# The errors of a connection that went away (PostgreSQL restarted, a pooled connection gone stale).
_CONNECTION_LOST = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)
_REFUSED = (asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError)


class Statements(Protocol):
    """Statements on one connection, inside `transaction`. Callbacks registered on it with
    fastapi_app.db.hooks.on_commit run once the transaction has committed."""

    info: dict[str, Any]

    async def fetch(self, key: Hashable, build: Callable[[], Executable], params: Mapping[str, Any]) -> Sequence[Row]:
        """Rows of the statement `build()` (called once per `key` and backend) with `params` bound by name."""
        ...


CONNECT_TIMEOUT_S = 5.0
_PG_DIALECT = PGDialect_asyncpg(paramstyle="numeric_dollar")
_compiled: dict[Hashable, tuple[str, tuple[str, ...]]] = {}


def _compile_for_asyncpg(key: Hashable, build: Callable[[], Executable]) -> tuple[str, tuple[str, ...]]:
    """SQL text with $n placeholders and the bind-parameter names in their order; once per shape."""
    found = _compiled.get(key)
    if found is None:
        compiled = build().compile(dialect=_PG_DIALECT)
        names = tuple(compiled.positiontup or ())
        found = (compiled.string, names)
        _compiled[key] = found
    return found


class _AsyncpgBackend:
    """One pool per event loop (the test suite and the server each run their own loop)."""

    def __init__(self, dsn: str, max_size: int) -> None:
        self.dsn = dsn
        self.max_size = max_size
        self._pools: dict[asyncio.AbstractEventLoop, tuple[Any, asyncio.Semaphore]] = {}
        self._creating: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    async def _init_connection(self, connection: Any) -> None:
        # JSON columns as Python values, as SQLAlchemy's JSON type would give them.
        for type_name in ("json", "jsonb"):
            await connection.set_type_codec(type_name, encoder=json.dumps, decoder=orjson.loads, schema="pg_catalog")

    @staticmethod
    async def _keep_session_state(connection: Any) -> None:
        """asyncpg resets a connection on its way back to the pool (advisory locks, cursors, LISTEN,
        settings): a round trip per query. Our statements change none of that. Only a transaction left
        open (its ROLLBACK interrupted, by a cancelled request) must not reach the next user."""
        if connection.is_in_transaction():
            await connection.execute("ROLLBACK")

    async def pool(self) -> tuple[Any, asyncio.Semaphore]:
        """The loop's pool and its gate. The gate is a fair (FIFO) semaphore of the pool's size: asyncpg's
        own wait for a free connection is an asyncio.Queue, where a request woken for a released
        connection can lose it to a newcomer and go back to the end of the line. Measured with 64
        clients on 10 connections: p99 127 ms with the queue alone, 45 ms with the gate in front."""
        loop = asyncio.get_running_loop()
        found = self._pools.get(loop)
        if found is not None:
            return found
        # The first requests after start-up arrive together: one of them creates the pool.
        async with self._creating.setdefault(loop, asyncio.Lock()):
            found = self._pools.get(loop)
            if found is None:
                found = await self._create_pool(loop)
        return found

    async def _create_pool(self, loop: asyncio.AbstractEventLoop) -> tuple[Any, asyncio.Semaphore]:
        # min_size 0: connections open on demand, so a database that is down at start-up does not
        # stop the API from starting (it answers 503 until the database is back).
        pool = asyncpg.create_pool(
            self.dsn,
            min_size=0,
            max_size=self.max_size,
            timeout=CONNECT_TIMEOUT_S,
            init=self._init_connection,
            reset=self._keep_session_state,
            max_inactive_connection_lifetime=300,
        )
        await pool
        for stale_loop in [other for other in self._pools if other.is_closed()]:
            del self._pools[stale_loop]
            self._creating.pop(stale_loop, None)
        found = self._pools[loop] = (pool, asyncio.Semaphore(self.max_size))
        return found

    async def fetch(self, key: Hashable, build: Callable[[], Executable], params: Mapping[str, Any]) -> Sequence[Row]:
        sql, args = _asyncpg_statement(key, build, params)
        pool, gate = await self.pool()
        for attempt in (1, 2):
            try:
                async with gate:
                    return await pool.fetch(sql, *args)
            except _REFUSED as exc:
                raise _unavailable(exc) from exc
            except _CONNECTION_LOST as exc:
                if attempt == 1 and not isinstance(exc, ConnectionRefusedError):
                    # Pooled connections outlived a database restart: drop them all, retry once.
                    await pool.expire_connections()
                    continue
                raise _unavailable(exc) from exc
        raise AssertionError("unreachable")

    async def transaction(self, work: Callable[[Statements], Awaitable[T]]) -> T:
        pool, gate = await self.pool()
        for attempt in (1, 2):
            committing = False
            try:
                async with gate, pool.acquire() as connection, connection.transaction():
                    statements = _AsyncpgStatements(connection)
                    result = await work(statements)
                    committing = True  # leaving the block sends COMMIT
                run_committed(statements.info)
                return result
            except _REFUSED as exc:
                raise _unavailable(exc) from exc
            except _CONNECTION_LOST as exc:
                # Before COMMIT was sent nothing can have been written: a stale connection is retried
                # once, as for a read. During COMMIT the outcome is unknown: never written twice.
                if attempt == 1 and not committing and not isinstance(exc, ConnectionRefusedError):
                    await pool.expire_connections()
                    continue
                raise _unavailable(exc) from exc
        raise AssertionError("unreachable")

    async def close(self) -> None:
        pools, self._pools = list(self._pools.items()), {}
        for loop, (pool, _) in pools:
            if loop is asyncio.get_running_loop():
                await pool.close()


def _asyncpg_statement(
    key: Hashable, build: Callable[[], Executable], params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    sql, names = _compile_for_asyncpg(key, build)
    return sql, [params[name] for name in names]


class _AsyncpgStatements:
    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.info: dict[str, Any] = {}

    async def fetch(self, key: Hashable, build: Callable[[], Executable], params: Mapping[str, Any]) -> Sequence[Row]:
        sql, args = _asyncpg_statement(key, build, params)
        return await self.connection.fetch(sql, *args)  # type: ignore[no-any-return]


def _unavailable(exc: BaseException) -> ServiceUnavailable:
    logger.error("database unavailable: %s: %s", type(exc).__name__, exc)
    return ServiceUnavailable("The database is unavailable; retry shortly.", headers={"Retry-After": "5"})


class _EngineStatements:
    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.info: dict[str, Any] = {}

    async def fetch(self, key: Hashable, build: Callable[[], Executable], params: Mapping[str, Any]) -> Sequence[Row]:
        result = await self.connection.execute(build(), dict(params))
        return result.all() if result.returns_rows else []  # type: ignore[no-any-return]


class _EngineBackend:
    """SQLite (and any non-PostgreSQL URL): the same statements through the async engine."""

    async def fetch(self, key: Hashable, build: Callable[[], Executable], params: Mapping[str, Any]) -> Sequence[Row]:
        async with get_async_engine().connect() as connection:
            return await _EngineStatements(connection).fetch(key, build, params)

    async def transaction(self, work: Callable[[Statements], Awaitable[T]]) -> T:
        async with get_async_engine().begin() as connection:
            statements = _EngineStatements(connection)
            result = await work(statements)
        run_committed(statements.info)
        return result

    async def close(self) -> None:
        return None


_backend: tuple[str, _AsyncpgBackend | _EngineBackend] | None = None


def get_backend() -> _AsyncpgBackend | _EngineBackend:
    global _backend
    settings = get_settings()
    if _backend is None or _backend[0] != settings.DATABASE_URL:
        if settings.is_sqlite:
            backend: _AsyncpgBackend | _EngineBackend = _EngineBackend()
        else:
            url = make_url(settings.DATABASE_URL).set(drivername="postgresql")
            backend = _AsyncpgBackend(url.render_as_string(hide_password=False), settings.DB_READ_POOL_SIZE)
        _backend = (settings.DATABASE_URL, backend)
    return _backend[1]


async def fetch(key: Hashable, build: Callable[[], Executable], params: Mapping[str, Any]) -> Sequence[Row]:
    """Rows of the statement `build()` (called once per `key` and backend) with `params` bound by name."""
    return await get_backend().fetch(key, build, params)


def insert_values(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """A row for `insert_statement`: `values`, plus each other column's Python-side default (what an ORM
    flush would fill in: ids, timestamps, counters), or None. Autoincrement keys are left to the database."""
    row = dict(values)
    for column in table.c:
        if column.key in row or column.autoincrement is True:
            continue
        default = column.default
        if default is None:
            row[column.key] = None
        else:
            row[column.key] = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
    return row


def insert_statement(table: Table, keys: Sequence[str], returning: Sequence[str] = ()) -> Callable[[], Insert]:
    """A `build` for `Statements.fetch`: INSERT of these columns, each bound by its name, returning those named."""

    def build() -> Insert:
        statement = insert(table).values({key: bindparam(key, type_=table.c[key].type) for key in keys})
        return statement.returning(*(table.c[key] for key in returning)) if returning else statement

    return build


async def transaction(work: Callable[[Statements], Awaitable[T]]) -> T:
    """`work(statements)` in one transaction: committed when it returns, rolled back when it raises. The
    callbacks `work` registers with `on_commit(statements, ...)` run after the commit, or never."""
    return await get_backend().transaction(work)


async def close_backend() -> None:
    if _backend is not None:
        await _backend[1].close()
