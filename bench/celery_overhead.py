"""Per-task overhead of our Celery setup against bare Celery + Redis, measured in the same run.

    .venv/bin/python -m bench.celery_overhead --tasks 500 --runs 5

Two workers are started in turn on the same Redis (each `--concurrency 1`, prefork, as production):

* "ours": `fastapi_app.tasks.celery_app` with every setting and signal handler it installs (acks
  late, prefetch 1, task events, track-started, heartbeat, the JSON serializer), plus a no-op task
  registered only here, in the worker that imports this module.
* "bare": `Celery(broker=redis_url)` with default settings and the same no-op task.

A round trip is apply_async -> the task's LPUSH to a Redis list -> the client's BLPOP returning,
one task at a time, so nothing is queued behind anything else. Neither app stores results, which
keeps the result backend (ours has none) out of the comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from celery import Celery

APP_KIND_ENV = "BENCH_CELERY_APP"
REPLY_KEY_ENV = "BENCH_CELERY_REPLY_KEY"
NOOP_TASK = "bench.noop"
TARGET_MS = 5.0  # issue 7's target per task, set where bare Celery + Redis took ISSUE_BARE_MS
ISSUE_BARE_MS = 2.1


def _register_noop(app: Celery) -> None:
    import redis

    # One connection per process, opened lazily: the worker's pool child forks after import.
    state: dict[str, Any] = {}

    @app.task(name=NOOP_TASK, ignore_result=True)
    def noop(reply_key: str) -> None:
        if "redis" not in state:
            state["redis"] = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
        state["redis"].lpush(reply_key, b"1")


_built: dict[str, Celery] = {}


def build_app(kind: str) -> Celery:
    if kind not in _built:
        _built[kind] = _build_app(kind)
    return _built[kind]


def _build_app(kind: str) -> Celery:
    if kind == "ours":
        from fastapi_app.tasks.celery_app import celery_app

        _register_noop(celery_app)
        return celery_app
    bare = Celery("bare", broker=os.environ["BENCH_REDIS_URL"])
    # Only the queue name differs from the defaults: runs sharing this Redis must not steal tasks.
    bare.conf.task_default_queue = os.environ["CELERY_QUEUE"]
    bare.conf.task_ignore_result = True
    _register_noop(bare)
    return bare


# The worker imports this module with `-A bench.celery_overhead`; only then is an app built here, so
# importing ours (and its worker signal handlers) never happens in the bare worker.
if os.environ.get(APP_KIND_ENV):
    app = build_app(os.environ[APP_KIND_ENV])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def round_trips(app: Celery, redis_url: str, tasks: int, warmup: int = 50) -> list[float]:
    import redis

    client = redis.Redis.from_url(redis_url)
    reply_key = f"bench-reply-{uuid.uuid4().hex}"
    samples: list[float] = []
    try:
        for index in range(warmup + tasks):
            started = time.perf_counter()
            app.send_task(NOOP_TASK, args=[reply_key])
            if client.blpop([reply_key], timeout=30) is None:
                raise TimeoutError("the no-op task never ran")
            if index >= warmup:
                samples.append((time.perf_counter() - started) * 1000)
    finally:
        client.delete(reply_key)
    return samples


def measure(kind: str, tasks: int) -> list[float]:
    from tests.support.services import create_postgres_database, drop_postgres_database, require_redis
    from tests.support.stack import Stack, stack_env

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-celery-{kind}-"))
    redis_url = require_redis()
    # Ours needs its database: the worker's start-up recovery sweep and settings expect one.
    postgres_url = create_postgres_database()
    env = stack_env(
        workdir,
        DATABASE_URL=postgres_url,
        CELERY_BROKER_URL=redis_url,
        REDIS_URL=redis_url,
        BENCH_REDIS_URL=redis_url,
        # Fixed for the whole benchmark: the client builds each app once, with the queue of its first run.
        CELERY_QUEUE=f"bench-overhead-{os.getpid()}",
        **{APP_KIND_ENV: kind},
    )
    stack = Stack(env=env, workdir=workdir)
    try:
        stack.migrate()
        stack.spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "bench.celery_overhead", "worker", "--loglevel=INFO",
             "--concurrency=1", "-n", f"bench-{kind}-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        )  # fmt: skip
        stack.wait_ready()
        # The client sends with the same app and configuration as the worker, as the API does.
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            return round_trips(build_app(kind), redis_url, tasks)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    finally:
        stack.stop()
        drop_postgres_database(postgres_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    medians: dict[str, list[float]] = {"bare": [], "ours": []}
    p99s: dict[str, list[float]] = {"bare": [], "ours": []}
    for run in range(args.runs):
        # Alternate the order so drift in machine load does not favour one side.
        for kind in ("bare", "ours") if run % 2 == 0 else ("ours", "bare"):
            samples = measure(kind, args.tasks)
            medians[kind].append(statistics.median(samples))
            p99s[kind].append(_percentile(samples, 0.99))
            print(f"  run {run + 1} {kind:4s}: median {medians[kind][-1]:.2f} ms p99 {p99s[kind][-1]:.2f} ms",
                  flush=True)  # fmt: skip
    for kind in ("bare", "ours"):
        print(
            f"{kind:4s} tasks={args.tasks} runs={args.runs} round trip "
            f"median {statistics.median(medians[kind]):.2f} ms "
            f"(run medians {min(medians[kind]):.2f}-{max(medians[kind]):.2f}) "
            f"p99 median {statistics.median(p99s[kind]):.2f} ms"
        )
    overhead = [o - b for o, b in zip(medians["ours"], medians["bare"], strict=True)]
    print(f"ours - bare per task: median {statistics.median(overhead):.2f} ms "
          f"({min(overhead):.2f}-{max(overhead):.2f})")  # fmt: skip
    # The target (5 ms where bare Celery took 2.1 ms) as a ratio to the same run's bare round trip.
    ratios = [o / b for o, b in zip(medians["ours"], medians["bare"], strict=True)]
    print(f"ours / bare per task: median {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}); "
          f"target ratio {TARGET_MS / ISSUE_BARE_MS:.2f} ({TARGET_MS:g} ms / {ISSUE_BARE_MS:g} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
