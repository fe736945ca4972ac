"""One event hub per API process: it receives every user's events once and hands each connected
WebSocket the events of its own user, in order.

Sources: Redis pub/sub (one pattern subscription per process, not one per client) when Redis is
configured; otherwise the `document_events` table, polled, which works across processes with the
embedded broker. When Redis drops, the hub reconnects with backoff and replays what it missed from
the table, so a subscription survives a Redis restart without losing events.

Sessions: a socket belongs to one access token. When the account's sessions end (password change,
logout-all, account disabled) a `sessions_ended` message on the user's channel ends the sockets opened
with an older token_version at once, in whichever process holds them; a periodic check of the
connected accounts (WS_SESSION_CHECK_SECONDS) catches a message lost to a Redis outage and changes
made without one (the embedded mode's other processes, a row edited by hand).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from fastapi_app.core.config import get_settings
from fastapi_app.db.session import async_session_factory
from fastapi_app.models import DocumentEvent, User
from fastapi_app.models.access import account_refusal
from fastapi_app.realtime.events import CHANNEL_PREFIX, SESSIONS_ENDED, event_message

logger = logging.getLogger("fastapi_app.realtime")

POLL_INTERVAL_S = 0.1
QUEUE_SIZE = 1_000
RECENT_IDS = 2_048
REPLAY_WINDOW = timedelta(seconds=30)
SESSION_CHECK_BATCH = 500  # accounts per query: SQLite caps the number of bound parameters


@dataclass(eq=False)
class Connection:
    user_id: uuid.UUID
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    document_id: str | None = None  # optional subscription to one document
    overflowed: bool = False
    token_version: int = 0  # the version carried by the socket's token
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # set when the session must close
    end_reason: str = ""
    _seen: OrderedDict[int, None] = field(default_factory=OrderedDict)

    def end(self, reason: str) -> None:
        if not self.ended.is_set():
            self.end_reason = reason
            self.ended.set()

    def offer(self, message: dict[str, Any]) -> None:
        event_id = message.get("event_id")
        if isinstance(event_id, int):
            if event_id in self._seen:  # the same event from Redis and from a replay
                return
            self._seen[event_id] = None
            if len(self._seen) > RECENT_IDS:
                self._seen.popitem(last=False)
        if self.document_id and message.get("document_id") != self.document_id:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # A client that stops reading must not grow memory without bound: it is closed and
            # reconnects (getting a fresh snapshot).
            self.overflowed = True


class EventHub:
    def __init__(self) -> None:
        self.connections: dict[uuid.UUID, set[Connection]] = {}
        self._task: asyncio.Task[None] | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.source = "redis" if get_settings().redis_url else "database"
        self._last_polled_id = 0

    # --- connections -----------------------------------------------------------------------
    def register(self, connection: Connection) -> None:
        self.connections.setdefault(connection.user_id, set()).add(connection)

    def unregister(self, connection: Connection) -> None:
        connections = self.connections.get(connection.user_id)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                self.connections.pop(connection.user_id, None)

    def dispatch(self, owner_id: uuid.UUID, message: dict[str, Any]) -> None:
        for connection in list(self.connections.get(owner_id, ())):
            connection.offer(message)

    def end_sessions(self, user_id: uuid.UUID, token_version: int, reason: str) -> None:
        """End the user's sockets opened with a token older than `token_version`."""
        for connection in list(self.connections.get(user_id, ())):
            if connection.token_version < token_version:
                connection.end(reason)

    async def check_sessions(self) -> None:
        """End every socket whose account is gone, disabled or has moved to another token_version."""
        owners = list(self.connections)
        for start in range(0, len(owners), SESSION_CHECK_BATCH):
            batch = owners[start : start + SESSION_CHECK_BATCH]
            async with async_session_factory()() as session:
                rows = await session.execute(
                    select(User.id, User.is_active, User.token_version).where(User.id.in_(batch))
                )
                accounts = {row.id: row for row in rows}
            for owner in batch:
                account = accounts.get(owner)
                for connection in list(self.connections.get(owner, ())):
                    refused = account_refusal(account, connection.token_version)
                    if refused is not None:
                        connection.end(refused.value)

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            if self.source == "database":
                self._last_polled_id = await self._max_event_id()
            self._task = asyncio.create_task(self._run(), name="event-hub")
        if self._session_task is None:
            self._session_task = asyncio.create_task(self._run_session_checks(), name="event-hub-sessions")

    async def stop(self) -> None:
        self._stopping.set()
        for task in (self._task, self._session_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._session_task = None

    async def _run_session_checks(self) -> None:
        interval = get_settings().WS_SESSION_CHECK_SECONDS
        while not self._stopping.is_set():
            await asyncio.sleep(interval)
            try:
                if self.connections:
                    await self.check_sessions()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("event hub: checking the connected accounts failed", exc_info=True)

    async def _run(self) -> None:
        if self.source == "redis":
            await self._run_redis()
        else:
            await self._run_polling()

    # --- Redis -----------------------------------------------------------------------------
    async def _run_redis(self) -> None:
        import redis.asyncio as aioredis

        url = get_settings().redis_url
        assert url is not None
        backoff = 0.2
        disconnected_at: datetime | None = None
        while not self._stopping.is_set():
            client = aioredis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=10)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                if disconnected_at is not None:
                    await self._replay_since(disconnected_at - timedelta(seconds=5))
                    await self.check_sessions()  # a sessions_ended published meanwhile was lost
                    logger.info("event hub: Redis is back, replayed events since %s", disconnected_at.isoformat())
                    disconnected_at = None
                backoff = 0.2
                async for raw in pubsub.listen():
                    if raw.get("type") != "pmessage":
                        continue
                    self._handle_raw(raw["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if disconnected_at is None:
                    disconnected_at = datetime.now(UTC)
                    logger.warning("event hub: Redis unavailable (%s); reconnecting", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:
                    logger.debug("event hub: closing Redis connection failed", exc_info=True)

    def _handle_raw(self, data: bytes | str) -> None:
        try:
            payload = json.loads(data)
            owner_id = uuid.UUID(payload["owner_id"])
            message = payload["event"]
        except (ValueError, KeyError, TypeError):
            logger.warning("event hub: ignoring a malformed message")
            return
        if isinstance(message, dict) and message.get("type") == SESSIONS_ENDED:
            try:
                reason = str(message.get("reason") or "session ended")
                self.end_sessions(owner_id, int(message["token_version"]), reason)
            except (KeyError, TypeError, ValueError):
                logger.warning("event hub: ignoring a malformed message")
            return
        self.dispatch(owner_id, message)

    async def _replay_since(self, since: datetime) -> None:
        owners = list(self.connections)
        if not owners:
            return
        async with async_session_factory()() as session:
            events = await session.scalars(
                select(DocumentEvent)
                .where(DocumentEvent.owner_id.in_(owners), DocumentEvent.created_at >= since)
                .order_by(DocumentEvent.id)
            )
            self._dispatch_rows(events)

    # --- database polling (no Redis) -----------------------------------------------------------
    async def _max_event_id(self) -> int:
        from sqlalchemy import func

        async with async_session_factory()() as session:
            return int(await session.scalar(select(func.max(DocumentEvent.id))) or 0)

    async def _run_polling(self) -> None:
        # SQLite serialises writers, so event ids become visible in increasing order: polling
        # "id > last" misses nothing.
        while not self._stopping.is_set():
            try:
                if self.connections:
                    await self._poll_once()
                else:
                    self._last_polled_id = await self._max_event_id()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("event hub: polling the events table failed", exc_info=True)
            await asyncio.sleep(POLL_INTERVAL_S)

    async def _poll_once(self) -> None:
        owners = list(self.connections)
        async with async_session_factory()() as session:
            events = list(
                await session.scalars(
                    select(DocumentEvent)
                    .where(DocumentEvent.id > self._last_polled_id, DocumentEvent.owner_id.in_(owners))
                    .order_by(DocumentEvent.id)
                    .limit(500)
                )
            )
        self._dispatch_rows(events)
        if events:
            self._last_polled_id = max(self._last_polled_id, events[-1].id)

    def _dispatch_rows(self, events: Iterable[DocumentEvent]) -> None:
        for event in events:
            self.dispatch(event.owner_id, event_message(event))


_hub: EventHub | None = None


def get_hub() -> EventHub:
    global _hub
    if _hub is None:
        _hub = EventHub()
    return _hub


def local_hub() -> EventHub | None:
    """This process's hub if it has one (an API process), without creating it (the CLI, a worker)."""
    return _hub


def reset_hub() -> None:
    global _hub
    _hub = None
