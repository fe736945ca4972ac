"""A per-user cache of read responses in Redis, shared by every API process, that cannot serve a stale read.

Every entry's key holds the user's current *generation*, a random token stored under the user's
generation key. A change to anything the cached reads show deletes that key once it is committed
(`invalidate`: from the after-commit announcement of every document event in realtime/publisher.py,
a document's delete, and the end of an account's sessions). The next read finds no generation, sets a
fresh token and so misses every entry written before. A reader that fetched the old generation before
the commit and the rows after it only writes an entry under the old generation, which nobody reads
again. Getting the generation (created when missing) and the entry is one Lua call, one round trip.

A token, not a counter: a counter lost to an eviction or a restart would restart at a value whose old
entries may still live. Redis unreachable: reads go to the database (logged once per outage, then
Redis is left alone for a few seconds) and never fail because of the cache.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from fastapi_app.core.config import Settings, get_settings

logger = logging.getLogger("fastapi_app.cache")

KEY_PREFIX = "cache:v1"
# How long Redis is left alone after a failure: no connect attempt per request during an outage.
RETRY_AFTER_SECONDS = 5.0
# The generation outlives every entry written under it (entries live CACHE_TTL_SECONDS).
GENERATION_TTL_FACTOR = 10

# KEYS[1] the generation key; ARGV: entry key prefix, entry key suffix, a fresh token, its TTL.
_LOOKUP = """
local generation = redis.call('GET', KEYS[1])
if not generation then
  generation = ARGV[3]
  redis.call('SET', KEYS[1], generation, 'EX', ARGV[4])
end
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}
"""


def generation_key(owner_id: uuid.UUID | str) -> str:
    return f"{KEY_PREFIX}:gen:{owner_id}"


def _entry_prefix(owner_id: uuid.UUID | str) -> str:
    return f"{KEY_PREFIX}:{owner_id}:"


def entry_key(owner_id: uuid.UUID | str, generation: str, name: str) -> str:
    """The key of one cached read: the owner, their generation, then what was read (`name`)."""
    return f"{_entry_prefix(owner_id)}{generation}:{name}"


class _Outage:
    """Fail-open bookkeeping: one warning per outage, and a pause before Redis is tried again."""

    def __init__(self) -> None:
        self.down_until = 0.0
        self.reported = False

    def available(self) -> bool:
        return time.monotonic() >= self.down_until

    def failed(self, action: str, exc: Exception) -> None:
        self.down_until = time.monotonic() + RETRY_AFTER_SECONDS
        if not self.reported:
            self.reported = True
            logger.warning("cache: Redis unavailable while %s (%s); serving from the database", action, exc)

    def succeeded(self) -> None:
        if self.reported:
            self.reported = False
            logger.info("cache: Redis reachable again")


_outage = _Outage()


@lru_cache
def _sync_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, health_check_interval=30)


def invalidate(owner_id: uuid.UUID | str, settings: Settings | None = None) -> None:
    """After a committed change of the owner's documents or account: every cached read of theirs is gone.
    Done whenever Redis is configured, even with CACHE_ENABLED off here: another process may cache."""
    url = (settings or get_settings()).redis_url
    if url is None:
        return
    try:
        _sync_client(url).delete(generation_key(owner_id))
    except Exception as exc:  # Redis down: entries expire within CACHE_TTL_SECONDS
        logger.warning("cache: generation of %s not invalidated (%s)", owner_id, exc)


class ResponseCache:
    """The API's side: look a read up, store it. Clients are per event loop (redis.asyncio's are bound
    to the loop that made them, and tests run several loops)."""

    def __init__(self, url: str, ttl_seconds: int) -> None:
        self.url = url
        self.ttl_seconds = ttl_seconds
        self._clients: dict[int, tuple[Any, Any, Any]] = {}

    def _client(self) -> tuple[Any, Any]:
        """This loop's client and its lookup script."""
        import asyncio

        import redis.asyncio as aioredis

        loop = asyncio.get_running_loop()
        found = self._clients.get(id(loop))
        if found is None or found[0] is not loop:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
            found = (loop, client, client.register_script(_LOOKUP))
            self._clients[id(loop)] = found
        return found[1], found[2]

    async def lookup(self, owner_id: uuid.UUID | str, name: str) -> tuple[str | None, bytes | None]:
        """(generation, cached body): the body is None on a miss; both are None when Redis is unavailable
        (then the caller must not store what it reads)."""
        if not _outage.available():
            return None, None
        try:
            _, script = self._client()
            generation, body = await script(
                keys=[generation_key(owner_id)],
                args=[
                    _entry_prefix(owner_id),
                    f":{name}",
                    secrets.token_hex(8),
                    self.ttl_seconds * GENERATION_TTL_FACTOR,
                ],
            )
        except Exception as exc:
            _outage.failed("reading", exc)
            return None, None
        _outage.succeeded()
        return generation.decode(), body

    async def store(self, owner_id: uuid.UUID | str, generation: str, name: str, body: bytes) -> None:
        try:
            client, _ = self._client()
            await client.set(entry_key(owner_id, generation, name), body, ex=self.ttl_seconds)
        except Exception as exc:
            _outage.failed("writing", exc)

    async def cached(
        self,
        owner_id: uuid.UUID | str,
        name: str,
        read: Callable[[], Awaitable[bytes]],
        still_allowed: Callable[[], Awaitable[bool]] | None = None,
    ) -> bytes:
        """The cached body of the read `name`, else `read()`'s, stored under the generation fetched before
        the read (so a change committed meanwhile makes it unreachable). With `still_allowed`, a hit is
        served only when it says yes; otherwise `read()` runs, and answers with its own error."""
        generation, body = await self.lookup(owner_id, name)
        if body is not None and (still_allowed is None or await still_allowed()):
            return bytes(body)
        body = await read()
        if generation is not None:
            await self.store(owner_id, generation, name, body)
        return body


_caches: dict[tuple[str, int], ResponseCache] = {}


def response_cache(settings: Settings | None = None) -> ResponseCache | None:
    """The cache of this process, or None when CACHE_ENABLED is off or no Redis is configured."""
    settings = settings or get_settings()
    url = settings.redis_url
    if not settings.CACHE_ENABLED or url is None:
        return None
    key = (url, settings.CACHE_TTL_SECONDS)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = ResponseCache(url, settings.CACHE_TTL_SECONDS)
    return cache
