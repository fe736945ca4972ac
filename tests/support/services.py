"""Real PostgreSQL and Redis for tests: a fresh database per session; fail (never skip) in CI."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/13"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(what: str, why: str) -> None:
    message = f"{what} is required for this test but unavailable: {why}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def configured_database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


def configured_redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)


def sibling_redis_url(url: str, offset: int = -1) -> str:
    """Another database number on the same Redis, so in-process tests never share a queue with
    the live stack's worker."""
    parts = urlsplit(url)
    index = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(index + offset) % 16}"))


def _admin_connect(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    parts = urlsplit(url.replace("postgresql+psycopg", "postgresql").replace("postgresql+asyncpg", "postgresql"))
    return psycopg.connect(urlunsplit(parts), autocommit=True, connect_timeout=5)


def create_postgres_database() -> str:
    """Create an empty database next to TEST_DATABASE_URL's; return its URL."""
    base = configured_database_url()
    try:
        conn = _admin_connect(base)
    except Exception as exc:
        unavailable("PostgreSQL", f"{type(exc).__name__}: {exc}")
        raise
    name = f"dp_test_{uuid.uuid4().hex[:10]}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_postgres_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path=urlsplit(configured_database_url()).path))
    with _admin_connect(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def require_redis() -> str:
    url = configured_redis_url()
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                raise ConnectionError("no PONG")
    except Exception as exc:
        unavailable("Redis", f"{type(exc).__name__}: {exc}")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
