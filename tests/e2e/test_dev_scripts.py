"""./start_dev.sh on a fresh copy of the project (no .venv, no .env), run twice, then ./stop_dev.sh."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.services import free_port, sibling_redis_url
from tests.support.stack import ROOT

pytestmark = pytest.mark.e2e

SKIP_DIRS = {".venv", "data", "logs", "media", "run", ".git", ".pytest_cache", ".ruff_cache", "__pycache__"}


def _copy_project(target: Path) -> Path:
    def ignore(_: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_DIRS or n == ".env"}

    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _alive(pid: int) -> bool:
    # A stopped process whose parent (the start script) is gone may linger as a zombie until
    # init reaps it: that is dead too.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in {"Z", "X"}


def _pids(project: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in (project / "run").glob("*.pid")}


def test_start_twice_then_stop(tmp_path: Path, redis_url: str) -> None:
    project = _copy_project(tmp_path / "project")
    port, flower_port = free_port(), free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_", "REDIS_", "UPLOAD_", "LOG_"))
    }
    env.update(
        PORT=str(port),
        FLOWER_PORT=str(flower_port),
        CELERY_BROKER_URL=sibling_redis_url(redis_url, -2),
        NO_COLOR="1",
    )
    try:
        first = subprocess.run(
            ["./start_dev.sh", "-f"], cwd=project, env=env, capture_output=True, text=True, timeout=600
        )
        assert first.returncode == 0, first.stdout + first.stderr
        assert (project / ".venv" / "bin" / "python").exists()
        assert f"http://127.0.0.1:{port}/docs" in first.stdout
        assert "Broker: redis" in first.stdout
        secret = next(line for line in (project / ".env").read_text().splitlines() if line.startswith("SECRET_KEY="))
        assert "CHANGE-ME" not in secret and len(secret) > 40
        pids = _pids(project)
        assert {"uvicorn", "celery", "flower"} <= set(pids)

        second = subprocess.run(
            ["./start_dev.sh", "-f"], cwd=project, env=env, capture_output=True, text=True, timeout=300
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert "already running" in second.stdout + second.stderr
        assert _pids(project) == pids

        api = ApiClient(f"http://127.0.0.1:{port}")
        api.register_and_login()
        document_id = api.upload_bytes(small_text_pdf(), "dev.pdf").json()["data"]["id"]
        assert api.wait_for(document_id)["status"] == "completed"
        # The API's /metrics includes the worker's counters (a shared multiprocess directory).
        deadline = time.monotonic() + 10
        while 'documents_processed_total{file_type="pdf",status="completed"} 1.0' not in (
            metrics := httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        ):
            assert time.monotonic() < deadline, metrics[-2000:]
            time.sleep(0.2)
        assert (project / "data" / "app.sqlite3").exists()
        assert list((project / "media" / "documents").rglob("*.pdf"))

        flower = f"http://127.0.0.1:{flower_port}/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(flower, timeout=2).status_code == 401:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert httpx.get(flower, timeout=5).status_code == 401
        assert httpx.get(flower, auth=("admin", "password123"), timeout=5).status_code == 200

        stopped = subprocess.run(["./stop_dev.sh"], cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not _pids(project)
        assert not any(_alive(pid) for pid in pids.values())
    finally:
        for pid in _pids(project).values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
