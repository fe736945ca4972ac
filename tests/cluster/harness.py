"""A small production-shaped cluster on 127.0.0.1: N uvicorn instances behind a real nginx, N Celery
workers, Celery beat (the recovery sweep), PostgreSQL and Redis. Everything runs as plain processes,
so the drills can kill -9 any one of them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.nginx import INTERNAL_NETWORKS, NGINX, loopback_nginx_conf
from tests.support.servers import wait_for
from tests.support.services import free_port
from tests.support.stack import Stack, stack_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Cluster:
    stack: Stack
    nginx_port: int = field(default_factory=free_port)
    apis: list[str] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None
    internal_networks: Sequence[str] = INTERNAL_NETWORKS

    @property
    def workdir(self) -> Path:
        return self.stack.workdir

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def start(self, n_api: int = 3, n_workers: int = 3, beat: bool = True) -> None:
        self.stack.migrate()
        for i in range(n_api):
            name = f"api-{i}"
            self.stack.start_api(name, free_port())
            self.apis.append(name)
        for i in range(n_workers):
            self.start_worker(f"worker-{i}")
        if beat:
            schedule = self.workdir / "celerybeat-schedule"
            self.stack.spawn(
                "beat",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "fastapi_app.tasks.celery_app",
                    "beat",
                    "--schedule",
                    str(schedule),
                ],
            )
        conf = self.workdir / "nginx.conf"
        conf.write_text(
            loopback_nginx_conf(
                self.workdir,
                self.nginx_port,
                [self.stack.api_ports[n] for n in self.apis],
                internal_networks=self.internal_networks,
            )
        )
        log = (self.workdir / "nginx.out").open("wb")
        self.nginx = subprocess.Popen(
            [NGINX, "-p", str(self.workdir), "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()

    def start_worker(self, name: str) -> None:
        if name not in self.workers:
            self.workers.append(name)
        self.stack.start_worker(name, concurrency=1)

    def wait_ready(self, timeout: float = 120) -> None:
        # beat never prints "ready.", so Stack.wait_ready must not wait for it.
        beat = self.stack.processes.pop("beat", None)
        try:
            self.stack.wait_ready(timeout)
        finally:
            if beat is not None:
                self.stack.processes["beat"] = beat
        wait_for(self._nginx_up, 20, "nginx did not answer:\n" + self.output("nginx"))

    def _nginx_up(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def worker_for(self, hostname: str) -> str:
        """The process name of the worker whose Celery hostname this is (`name-pid@host`)."""
        return next(name for name in self.workers if hostname.startswith(f"{name}-"))

    def kill(self, name: str) -> None:
        self.stack.kill(name, signal.SIGKILL)

    def output(self, name: str) -> str:
        path = self.workdir / f"{name}.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.nginx and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(10)
        self.stack.stop()


def cluster_env(workdir: Path, database_url: str, redis_url: str, **overrides: Any) -> dict[str, str]:
    return stack_env(
        workdir,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=redis_url,
        REDIS_URL=redis_url,
        # Seconds-scale recovery: a sweep every 2 s re-queues what has made no progress for 12 s.
        RECOVERY_SWEEP_SECONDS="2",
        STALE_PROCESSING_MINUTES="0.2",
        # The drills hammer one account from one address; rate limits are not what they test.
        **{"RATE_LIMITS_ENABLED": "false", **overrides},
    )


@contextlib.contextmanager
def running_cluster(
    workdir: Path,
    database_url: str,
    redis_url: str,
    n_api: int = 3,
    n_workers: int = 3,
    *,
    internal_networks: Sequence[str] = INTERNAL_NETWORKS,
    **overrides: Any,
) -> Iterator[Cluster]:
    cluster = Cluster(
        Stack(env=cluster_env(workdir, database_url, redis_url, **overrides), workdir=workdir),
        internal_networks=internal_networks,
    )
    try:
        cluster.start(n_api, n_workers)
        yield cluster
    finally:
        cluster.stop()
        if os.environ.get("DEBUG_STACK"):
            for name in cluster.stack.processes:
                print(f"==== {name}\n{cluster.output(name)}")
