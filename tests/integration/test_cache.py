"""The per-user response cache (fastapi_app/core/cache.py) on a real Redis: hits, invalidation, the
race it is built for, a lost generation key, and Redis down (reads still answered, logged once)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
import redis

from fastapi_app.core import cache as cache_module
from fastapi_app.core.cache import ResponseCache, generation_key, invalidate
from fastapi_app.core.config import Settings
from tests.support.services import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def cache(redis_url: str) -> ResponseCache:
    cache_module._outage.down_until = 0.0
    return ResponseCache(redis_url, ttl_seconds=60)


def _settings(redis_url: str) -> Settings:
    return Settings(REDIS_URL=redis_url, CELERY_BROKER_URL="")


def _reader(body: bytes, calls: list[int]) -> object:
    async def read() -> bytes:
        calls.append(1)
        return body

    return read


def test_second_read_is_served_from_redis(cache: ResponseCache) -> None:
    owner, calls = uuid.uuid4(), []

    async def run() -> tuple[bytes, bytes]:
        first = await cache.cached(owner, "stats:summary", _reader(b'{"n":1}', calls))  # type: ignore[arg-type]
        second = await cache.cached(owner, "stats:summary", _reader(b'{"n":2}', calls))  # type: ignore[arg-type]
        return first, second

    assert asyncio.run(run()) == (b'{"n":1}', b'{"n":1}')
    assert len(calls) == 1


def test_invalidate_ends_every_entry_of_that_owner_only(cache: ResponseCache, redis_url: str) -> None:
    owner, other, calls = uuid.uuid4(), uuid.uuid4(), []

    async def read_both(body: bytes) -> tuple[bytes, bytes]:
        mine = await cache.cached(owner, "document:x", _reader(body, calls))  # type: ignore[arg-type]
        theirs = await cache.cached(other, "document:x", _reader(body, calls))  # type: ignore[arg-type]
        return mine, theirs

    asyncio.run(read_both(b"old"))
    invalidate(owner, _settings(redis_url))
    assert asyncio.run(read_both(b"new")) == (b"new", b"old")


def test_a_read_that_raced_a_change_is_never_served(cache: ResponseCache, redis_url: str) -> None:
    """The reader took the generation, then the change committed and invalidated, then the reader stored
    what it had read before the commit: that entry must be unreachable."""
    owner = uuid.uuid4()

    async def run() -> bytes | None:
        generation, body = await cache.lookup(owner, "stats:summary")
        assert generation is not None and body is None
        invalidate(owner, _settings(redis_url))  # the change commits meanwhile
        await cache.store(owner, generation, "stats:summary", b"read before the commit")
        return (await cache.lookup(owner, "stats:summary"))[1]

    assert asyncio.run(run()) is None


def test_a_lost_generation_key_never_revives_old_entries(cache: ResponseCache, redis_url: str) -> None:
    """Generations are random tokens: an evicted or expired generation key starts a new one, never an
    old value whose entries may still live."""
    owner, calls = uuid.uuid4(), []

    async def read() -> bytes:
        return await cache.cached(owner, "list", _reader(b"page", calls))  # type: ignore[arg-type]

    asyncio.run(read())
    generations = set()
    client = redis.Redis.from_url(redis_url)
    for _ in range(20):
        generations.add(client.get(generation_key(owner)))
        client.delete(generation_key(owner))
        asyncio.run(read())
    assert len(generations) == 20 and len(calls) == 21


def test_redis_down_serves_from_the_database_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    cache_module._outage.down_until = 0.0
    cache_module._outage.reported = False
    down = ResponseCache(f"redis://127.0.0.1:{free_port()}/0", ttl_seconds=60)
    calls: list[int] = []

    async def run() -> list[bytes]:
        bodies = []
        for _ in range(3):
            cache_module._outage.down_until = 0.0  # try Redis every time, as after each pause
            bodies.append(await down.cached(uuid.uuid4(), "stats:summary", _reader(b"from db", calls)))  # type: ignore[arg-type]
        return bodies

    with caplog.at_level(logging.WARNING, logger="fastapi_app.cache"):
        assert asyncio.run(run()) == [b"from db"] * 3
    assert len(calls) == 3
    warnings = [r for r in caplog.records if r.name == "fastapi_app.cache"]
    assert len(warnings) == 1 and "serving from the database" in warnings[0].getMessage()
    cache_module._outage.down_until = 0.0
    cache_module._outage.reported = False


def test_invalidate_with_redis_down_does_not_raise() -> None:
    invalidate(uuid.uuid4(), Settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))
