"""The service as real processes for benchmarks: PostgreSQL + Redis, or the embedded defaults."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import create_postgres_database, drop_postgres_database, require_redis
from tests.support.stack import Stack, stack_env


@contextmanager
def running_stack(backend: str, *, worker_concurrency: int = 1) -> Iterator[Stack]:
    """uvicorn and one Celery worker, ready; `backend` is "postgres" (with Redis) or "embedded"."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{backend}-"))
    postgres_url = None
    if backend == "postgres":
        postgres_url = create_postgres_database()
        redis_url = require_redis()
        env = stack_env(workdir, DATABASE_URL=postgres_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url)
    else:
        env = stack_env(
            workdir,
            DATABASE_URL=f"sqlite:///{workdir / 'app.sqlite3'}",
            CELERY_BROKER_URL=f"sqla+sqlite:///{workdir / 'broker.sqlite3'}",
            REDIS_URL="",
        )
    stack = Stack(env=env, workdir=workdir)
    try:
        with stack.serving(concurrency=worker_concurrency):
            yield stack
    finally:
        if postgres_url:
            drop_postgres_database(postgres_url)


@contextmanager
def bench_stack(workers: int, **env_overrides: str) -> Iterator[Stack]:
    """uvicorn plus `workers` separate Celery worker processes of concurrency 1 on PostgreSQL + Redis.

    bench.stacks.running_stack starts exactly one worker and takes no settings, hence this variant.
    """
    workdir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    postgres_url = create_postgres_database()
    redis_url = require_redis()
    env = stack_env(
        workdir, DATABASE_URL=postgres_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url, **env_overrides
    )
    stack = Stack(env=env, workdir=workdir)
    try:
        stack.migrate()
        stack.start_api()
        for index in range(1, workers + 1):
            stack.start_worker(f"worker{index}", concurrency=1)
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()
        drop_postgres_database(postgres_url)
