"""Run the real service as separate processes: uvicorn and a Celery worker, as users run them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    api_ports: dict[str, int] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.out").open("wb")
        proc = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = proc
        return proc

    def migrate(self) -> None:
        subprocess.run([sys.executable, "init_db.py"], cwd=ROOT, env=self.env, check=True, capture_output=True)

    def start_api(self, name: str = "uvicorn", port: int | None = None) -> int:
        port = port or self.port
        self.spawn(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "fastapi_app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-proxy-headers",  # as start_dev.sh: TRUSTED_PROXIES alone decides
            ],
        )
        self.api_ports[name] = port
        return port

    def url(self, name: str = "uvicorn") -> str:
        return f"http://127.0.0.1:{self.api_ports[name]}"

    def start_worker(self, name: str = "worker", concurrency: int = 2, extra: list[str] | None = None) -> None:
        self.spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "fastapi_app.tasks.celery_app",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                "-n",
                f"{name}-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                *(extra or []),
            ],
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.output(name)}")
            try:
                healthy = all(
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
                    for port in self.api_ports.values()
                )
                if healthy and self._workers_ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("stack not ready:\n" + "\n".join(self.output(n) for n in self.processes))

    def _workers_ready(self) -> bool:
        return all(
            b"ready." in (self.workdir / f"{name}.out").read_bytes()
            for name in self.processes
            if name not in self.api_ports
        )

    def output(self, name: str) -> str:
        path = self.workdir / f"{name}.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    @contextlib.contextmanager
    def serving(self, *, concurrency: int = 2, api_instances: int = 1) -> Iterator[Stack]:
        """Migrated, with `api_instances` uvicorn processes and one worker, ready; stopped on exit."""
        self.migrate()
        self.start_api()
        for index in range(1, api_instances):
            self.start_api(f"uvicorn-{chr(ord('a') + index)}", free_port())
        self.start_worker(concurrency=concurrency)
        try:
            self.wait_ready()
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.processes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def fresh_metrics_dir(workdir: Path) -> Path:
    """The stack's prometheus multiprocess directory, emptied: files left by processes of an earlier
    run would be summed into this one's counters."""
    path = workdir / "prometheus"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def stack_env(workdir: Path, **overrides: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_", "REDIS_"))}
    env.update(
        ENVIRONMENT="test",
        SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
        UPLOAD_DIR=str(workdir / "media"),
        LOG_DIR=str(workdir / "logs"),
        REPORTS_DIR=str(workdir / "reports"),
        PYTHONUNBUFFERED="1",
        # A queue of this stack's own: test sessions sharing one Redis never take each other's tasks.
        CELERY_QUEUE=f"documents-{uuid.uuid4().hex[:10]}",
        CELERY_WEBHOOK_QUEUE=f"webhooks-{uuid.uuid4().hex[:10]}",
        PYTHONPATH=str(ROOT),
        # The API processes and the worker's children sum their metrics here (same host).
        PROMETHEUS_MULTIPROC_DIR=str(fresh_metrics_dir(workdir)),
        # Test webhook receivers listen on 127.0.0.1, and their retries must not take minutes.
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
        WEBHOOK_RETRY_BASE_SECONDS="0.2",
        # Every test client comes from 127.0.0.1: per-address limits stay out of their way. The
        # per-account login limit stays strict enough for tests/e2e/test_security.py to reach it.
        RATE_LIMITS_ENABLED="true",
        RATE_LIMIT_LOGIN="100000/minute",
        RATE_LIMIT_LOGIN_ACCOUNT="20/minute",
        RATE_LIMIT_LOGIN_ACCOUNT_IP="100000/minute",
        RATE_LIMIT_REGISTER="100000/minute",
        RATE_LIMIT_UPLOAD="100000/minute",
        RATE_LIMIT_UPLOAD_IP="100000/minute",
        CORS_ORIGINS="https://app.example.com",
        # Ended sessions must close WebSockets through the Redis message alone, not the periodic check
        # (tests/e2e/test_sessions.py; the embedded stack, without Redis, sets a short check instead).
        WS_SESSION_CHECK_SECONDS="600",
    )
    env.update({k: str(v) for k, v in overrides.items()})
    return env
