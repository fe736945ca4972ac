"""Record events with the state change they describe, and broadcast them once committed.

The row is written in the same transaction as the document update, so the timeline never shows
a state the database does not have; the Redis broadcast happens after the commit, and a failed
broadcast loses nothing: the API replays from the table.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from fastapi_app.core.cache import generation_key, invalidate
from fastapi_app.core.config import get_settings
from fastapi_app.db.hooks import on_commit
from fastapi_app.models import DocumentEvent
from fastapi_app.realtime.events import (
    channel_for,
    encode,
    event_message,
    sessions_ended_message,
)

logger = logging.getLogger("fastapi_app.events")


@lru_cache
def _redis() -> Any:
    url = get_settings().redis_url
    if url is None:
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, health_check_interval=30)


def broadcast(message: dict[str, Any], owner_id: uuid.UUID | str) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.publish(channel_for(owner_id), encode(message, owner_id))
    except Exception as exc:  # Redis down: the API's hub replays from document_events
        logger.warning("event %s not broadcast (%s); clients catch up from the database", message["type"], exc)


async def announce_sessions_ended(user_id: uuid.UUID, token_version: int, reason: str) -> None:
    """After the commit that raised the account's token_version: close the user's WebSockets opened with
    an older one, in this process at once and in every other API process through Redis. A lost publish
    is caught by each hub's periodic session check (WS_SESSION_CHECK_SECONDS)."""
    import anyio

    from fastapi_app.realtime.hub import local_hub

    # The cached reads of the account were answered for tokens it may no longer accept.
    await anyio.to_thread.run_sync(invalidate, user_id)
    hub = local_hub()
    if hub is not None:  # on the event loop: the hub's connections belong to it
        hub.end_sessions(user_id, token_version, reason)
    await anyio.to_thread.run_sync(broadcast, sessions_ended_message(token_version, reason), user_id)


def announce(event: DocumentEvent) -> None:
    """Broadcast a committed event. (Webhooks are not sent from here: the pipeline sends them as its own
    step after the commit of a final event, see DocumentPipeline._transaction.) Every change of a
    document is committed with its event, so this is also where the owner's cached reads end.

    Both in one round trip: the cache and pub/sub share the one Redis (REDIS_URL, else a Redis broker),
    and a document's processing announces six or more events."""
    client = _redis()
    if client is None:  # no Redis: nothing is cached, and the API's hub reads the table
        return
    message = event_message(event)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.delete(generation_key(event.owner_id))
        pipe.publish(channel_for(event.owner_id), encode(message, event.owner_id))
        pipe.execute()
    except Exception as exc:  # Redis down: the hub replays from document_events; cache entries expire
        logger.warning(
            "event %s not broadcast and cached reads not ended (%s); clients catch up from the database",
            message["type"],
            exc,
        )


def record_event(
    session: Session | AsyncSession,
    *,
    document_id: uuid.UUID,
    owner_id: uuid.UUID,
    run: int,
    event_type: str,
    status: str,
    stage: str,
    progress: int,
    message: str = "",
    error_code: str | None = None,
    details: dict[str, Any] | None = None,
) -> DocumentEvent:
    event = DocumentEvent(
        document_id=document_id,
        owner_id=owner_id,
        run=run,
        type=event_type,
        status=status,
        stage=stage,
        progress=progress,
        message=message,
        error_code=error_code,
        details=details or {},
        created_at=datetime.now(UTC),
    )
    session.add(event)
    on_commit(session, lambda: announce(event))
    return event
