"""Keys of the response cache: per owner, per generation, per read; and which Redis it uses."""

from __future__ import annotations

import uuid

from fastapi_app.core.cache import entry_key, generation_key, response_cache
from fastapi_app.core.config import Settings


def test_entry_keys_hold_owner_generation_and_read() -> None:
    owner = uuid.UUID(int=1)
    assert generation_key(owner) == f"cache:v1:gen:{owner}"
    assert entry_key(owner, "ab12", "stats:summary") == f"cache:v1:{owner}:ab12:stats:summary"
    assert entry_key(owner, "ab12", "x") != entry_key(owner, "cd34", "x") != entry_key(uuid.UUID(int=2), "ab12", "x")


def test_the_cache_uses_redis_url_else_a_redis_broker() -> None:
    assert Settings(REDIS_URL="redis://r:6379/1").redis_url == "redis://r:6379/1"
    assert Settings(REDIS_URL="", CELERY_BROKER_URL="redis://b:6379/2").redis_url == "redis://b:6379/2"
    assert Settings(REDIS_URL="", CELERY_BROKER_URL="").redis_url is None


def test_no_cache_when_disabled_or_without_redis() -> None:
    assert response_cache(Settings(REDIS_URL="redis://r:6379/1", CACHE_ENABLED=False)) is None
    assert response_cache(Settings(REDIS_URL="", CELERY_BROKER_URL="")) is None
    enabled = response_cache(Settings(REDIS_URL="redis://r:6379/1", CACHE_TTL_SECONDS=42))
    assert enabled is not None and enabled.ttl_seconds == 42
