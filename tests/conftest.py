from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.services import configured_redis_url, sibling_redis_url

# Settings are read at import time by the app modules: point everything at throwaway places
# before any test module imports fastapi_app.
_TMP = Path(tempfile.mkdtemp(prefix="dp-tests-"))
os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
os.environ["UPLOAD_DIR"] = str(_TMP / "media")
os.environ["LOG_DIR"] = str(_TMP / "logs")
os.environ["REPORTS_DIR"] = str(_TMP / "reports")
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'unit.sqlite3'}"
# In-process code talks to a Redis database of its own (the live stacks use TEST_REDIS_URL's).
os.environ["CELERY_BROKER_URL"] = sibling_redis_url(configured_redis_url())
os.environ["CELERY_QUEUE"] = f"documents-inprocess-{os.getpid()}"
os.environ["CELERY_WEBHOOK_QUEUE"] = f"webhooks-inprocess-{os.getpid()}"
# In-process tests all come from 127.0.0.1: the limits have tests of their own, with their own settings.
os.environ.setdefault("RATE_LIMITS_ENABLED", "false")

from tests.support.corpus import CORPUS_FILES, SHARED_HWP_CORPUS, SHARED_HWP_MISSING, corpus_path  # noqa: E402
from tests.support.services import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    require_redis,
)
from tests.support.stack import Stack, stack_env  # noqa: E402


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS_FILES


@pytest.fixture(scope="session")
def corpus_file():  # type: ignore[no-untyped-def]
    return corpus_path


@pytest.fixture(scope="session")
def shared_hwp_corpus() -> Path:
    """../shared/corpus/hwp (or $SHARED_CORPUS_DIR/hwp): AGPL test documents, read in place because they
    must not be copied into the repository. CI always has it; elsewhere the tests are reported as not run."""
    if not (SHARED_HWP_CORPUS / "manifest.json").is_file():
        pytest.skip(SHARED_HWP_MISSING)
    return SHARED_HWP_CORPUS


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_redis()


def reset_cached_settings() -> None:
    """Settings, engines and session factories are cached per process; tests that switch the
    database must drop them all."""
    from fastapi_app.core.config import get_settings
    from fastapi_app.db import session

    get_settings.cache_clear()
    for factory in (session.get_sync_engine, session.get_async_engine):
        if factory.cache_info().currsize:
            engine = factory()
            # Async connections belong to the test event loop: drop them without closing here.
            (engine.sync_engine if hasattr(engine, "sync_engine") else engine).dispose(close=False)
        factory.cache_clear()
    session.sync_session_factory.cache_clear()
    session.async_session_factory.cache_clear()


@contextlib.contextmanager
def migrated_sqlite_database(path: Path) -> Iterator[Path]:
    """In-process code pointed at a fresh, migrated SQLite file for the duration; the previous
    DATABASE_URL (and the cached settings and engines) come back afterwards."""
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    reset_cached_settings()
    from init_db import upgrade_database

    upgrade_database()
    try:
        yield path
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        reset_cached_settings()


@contextlib.asynccontextmanager
async def signed_in_app_client() -> AsyncIterator[httpx.AsyncClient]:
    """The ASGI app in this process (on whatever DATABASE_URL points at), with a new account signed in:
    its Authorization header is on the client."""
    from fastapi_app.files.storage import get_storage
    from fastapi_app.main import create_app

    get_storage().ensure_dirs()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://t") as client:
        name = f"u{uuid.uuid4().hex[:8]}"
        account = {"username": name, "email": f"{name}@example.com", "password": "password123"}
        registered = await client.post("/api/auth/register", json=account)
        assert registered.status_code == 201, registered.text
        login = await client.post("/api/auth/login", data={"username": name, "password": "password123"})
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield client


@pytest.fixture(scope="session")
def inprocess_redis_url(redis_url: str) -> str:
    return sibling_redis_url(redis_url)


@pytest.fixture(scope="session")
def postgres_app_env(postgres_url: str, inprocess_redis_url: str) -> Iterator[str]:
    """In-process code (services, pipeline, ASGI app) pointed at the real PostgreSQL and Redis."""
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "CELERY_BROKER_URL")}
    os.environ["DATABASE_URL"] = postgres_url
    os.environ["CELERY_BROKER_URL"] = inprocess_redis_url
    reset_cached_settings()
    from init_db import upgrade_database

    upgrade_database()
    yield postgres_url
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_cached_settings()


@pytest.fixture(scope="session")
def live_stack(postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """uvicorn + a Celery worker on real PostgreSQL and Redis."""
    workdir = tmp_path_factory.mktemp("stack-pg")
    stack = Stack(
        env=stack_env(workdir, DATABASE_URL=postgres_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url),
        workdir=workdir,
    )
    # A second instance ("uvicorn-b"): events, revocations and limits must reach both.
    with stack.serving(api_instances=2):
        yield stack


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The defaults a new user gets: SQLite and the embedded broker, no server at all."""
    workdir = tmp_path_factory.mktemp("stack-embedded")
    stack = Stack(
        env=stack_env(
            workdir,
            DATABASE_URL=f"sqlite:///{workdir / 'app.sqlite3'}",
            CELERY_BROKER_URL=f"sqla+sqlite:///{workdir / 'broker.sqlite3'}",
            REDIS_URL="",
            WS_SESSION_CHECK_SECONDS="1",  # no Redis: ended sessions reach other processes by this check
        ),
        workdir=workdir,
    )
    with stack.serving(concurrency=1):
        yield stack
