"""Idempotency-Key on uploads (like Textract's ClientRequestToken or Stripe's Idempotency-Key): a retry
with the same key and the same request gets the first answer again (same status, same body, so the
same document ids) instead of a second document.

- Scope: per account. The record lives in Redis (REDIS_URL, else a Redis broker) so every API instance
  sees it; without Redis (the embedded mode: one process) in this process's memory.
- Fingerprint: sha256 over the endpoint, each file's name, size and sha256, and the form fields. The same
  key with another fingerprint is 409 IDEMPOTENCY_KEY_REUSED.
- Only accepted answers (2xx) are remembered, for IDEMPOTENCY_TTL_SECONDS. A refused request (415, 413,
  ...) leaves no record: its retry is checked again, and gives the same refusal.
- A retry that arrives while the first request is still running waits up to IDEMPOTENCY_WAIT_SECONDS
  for its answer, then gets 409 IDEMPOTENCY_REQUEST_IN_PROGRESS. The claim of a request lasts at most
  CLAIM_SECONDS, so a process that died mid-request blocks its key no longer than that.
- Redis unreachable: 503 SERVICE_UNAVAILABLE (fails closed). Answering without the record could create the
  duplicate the client sent the key to prevent; requests without the header do not touch Redis.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio

from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.errors import (
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    InvalidIdempotencyKey,
    ServiceUnavailable,
)
from fastapi_app.files.uploads import ReceivedUpload

logger = logging.getLogger("fastapi_app.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:\-]{1,255}")
CLAIM_SECONDS = 300
POLL_SECONDS = 0.1
_PREFIX = "docproc:idempotency:"


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as the client saw it: replayed byte for byte."""

    status_code: int
    body: bytes
    replayed: bool = False


class Store(Protocol):
    async def claim(self, key: str, value: str, seconds: int) -> bool: ...
    async def get(self, key: str) -> str | None: ...
    async def put(self, key: str, value: str, seconds: int) -> None: ...
    async def release(self, key: str, value: str) -> None: ...


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2, decode_responses=True)

    async def claim(self, key: str, value: str, seconds: int) -> bool:
        return bool(await self.client.set(key, value, nx=True, ex=seconds))

    async def get(self, key: str) -> str | None:
        return await self.client.get(key)  # type: ignore[no-any-return]

    async def put(self, key: str, value: str, seconds: int) -> None:
        await self.client.set(key, value, ex=seconds)

    async def release(self, key: str, value: str) -> None:
        # Only our own claim: after CLAIM_SECONDS the key may belong to another request.
        if await self.client.get(key) == value:
            await self.client.delete(key)


class MemoryStore:
    """One process's records (no Redis configured): what the embedded mode's single API process needs."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[str, float]] = {}

    def _live(self, key: str) -> str | None:
        found = self.records.get(key)
        if found is None or found[1] < time.monotonic():
            self.records.pop(key, None)
            return None
        return found[0]

    async def claim(self, key: str, value: str, seconds: int) -> bool:
        if self._live(key) is not None:
            return False
        self.records[key] = (value, time.monotonic() + seconds)
        return True

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def put(self, key: str, value: str, seconds: int) -> None:
        self.records[key] = (value, time.monotonic() + seconds)

    async def release(self, key: str, value: str) -> None:
        if self._live(key) == value:
            self.records.pop(key, None)


_stores: dict[str | None, Store] = {}


def get_store() -> Store:
    url = get_settings().redis_url
    found = _stores.get(url)
    if found is None:
        found = _stores[url] = RedisStore(url) if url else MemoryStore()
    return found


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidIdempotencyKey(details={"header": HEADER, "max_length": 255, "pattern": KEY_PATTERN.pattern})
    return key


def fingerprint(endpoint: str, uploads: Sequence[ReceivedUpload], fields: Mapping[str, str]) -> str:
    described = {
        "endpoint": endpoint,
        "files": [[upload.filename, upload.size, upload.sha256] for upload in uploads],
        "fields": sorted(fields.items()),
    }
    return hashlib.sha256(json.dumps(described, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


class _Replay(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__("replay")
        self.answer = answer


def _unavailable(exc: BaseException) -> ServiceUnavailable:
    logger.error("idempotency store unavailable: %s: %s", type(exc).__name__, exc)
    return ServiceUnavailable(
        "The idempotency store (Redis) is unavailable; retry shortly with the same Idempotency-Key.",
        headers={"Retry-After": "5"},
    )


class _Guard:
    def __init__(self, store: Store, record_key: str, endpoint: str, settings: Settings) -> None:
        self.store = store
        self.record_key = record_key
        self.endpoint = endpoint
        self.settings = settings
        self.claim_value: str | None = None
        self.fingerprint = ""

    async def checkpoint(self, uploads: Sequence[ReceivedUpload], fields: Mapping[str, str]) -> None:
        """Once the body is in: claim the key, or replay its answer, or refuse a different request."""
        self.fingerprint = fingerprint(self.endpoint, uploads, fields)
        claim = json.dumps({"state": "running", "fingerprint": self.fingerprint, "token": uuid.uuid4().hex})
        deadline = time.monotonic() + self.settings.IDEMPOTENCY_WAIT_SECONDS
        while True:
            try:
                if await self.store.claim(self.record_key, claim, CLAIM_SECONDS):
                    self.claim_value = claim
                    return
                raw = await self.store.get(self.record_key)
            except Exception as exc:
                raise _unavailable(exc) from exc
            if raw is None:  # the first request failed (or its record expired) meanwhile: claim again
                continue
            record = json.loads(raw)
            if record["fingerprint"] != self.fingerprint:
                raise IdempotencyKeyReused()
            if record["state"] == "done":
                raise _Replay(Answer(record["status"], base64.b64decode(record["body"]), replayed=True))
            if time.monotonic() >= deadline:
                raise IdempotencyRequestInProgress(headers={"Retry-After": "1"})
            await asyncio.sleep(POLL_SECONDS)

    async def complete(self, answer: Answer) -> None:
        if self.claim_value is None:
            return
        record = {
            "state": "done",
            "fingerprint": self.fingerprint,
            "status": answer.status_code,
            "body": base64.b64encode(answer.body).decode("ascii"),
        }
        try:
            await self.store.put(self.record_key, json.dumps(record), self.settings.IDEMPOTENCY_TTL_SECONDS)
        except Exception:
            # The documents are committed: the answer stands. A retry may then run again (logged).
            logger.exception("idempotency answer not recorded for %s", self.record_key)

    async def release(self) -> None:
        if self.claim_value is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await self.store.release(self.record_key, self.claim_value)
            except Exception:
                logger.warning("idempotency claim %s not released; it expires by itself", self.record_key)


Checkpoint = Callable[[Sequence[ReceivedUpload], Mapping[str, str]], Awaitable[None]]


async def run(
    key: str | None,
    owner_id: uuid.UUID,
    endpoint: str,
    settings: Settings,
    handle: Callable[[Checkpoint | None], Awaitable[Answer]],
) -> Answer:
    """`handle(checkpoint)` once per key and request: it must call `checkpoint` with what it received
    before it stores or writes anything. Without a key, simply `handle(None)`."""
    if key is None:
        return await handle(None)
    check_key(key)
    scoped = hashlib.sha256(key.encode()).hexdigest()
    guard = _Guard(get_store(), f"{_PREFIX}{owner_id}:{scoped}", endpoint, settings)
    try:
        answer = await handle(guard.checkpoint)
    except _Replay as replay:
        return replay.answer
    except BaseException:
        await guard.release()
        raise
    if 200 <= answer.status_code < 300:
        await guard.complete(answer)
    else:
        await guard.release()
    return answer
