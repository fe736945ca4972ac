"""Upload temp files left by a killed API process are swept: when the API starts, and by the recovery
sweep that Celery beat schedules. A fresh one (an upload in progress) is kept."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import create_postgres_database, drop_postgres_database
from tests.support.stack import Stack, stack_env

pytestmark = pytest.mark.e2e

MAX_AGE_MINUTES = 30


def _temp_file(tmp_dir: Path, name: str, age_minutes: float) -> Path:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / name
    path.write_bytes(b"%PDF-1.7 partial upload")
    stamp = time.time() - age_minutes * 60
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    # A database of its own: this stack's recovery sweep must not re-queue other stacks' documents.
    database_url = create_postgres_database()
    env = stack_env(
        tmp_path,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=redis_url,
        REDIS_URL=redis_url,
        UPLOAD_TEMP_MAX_AGE_MINUTES=str(MAX_AGE_MINUTES),
        RECOVERY_SWEEP_SECONDS="1",
    )
    running = Stack(env=env, workdir=tmp_path)
    running.migrate()
    try:
        yield running
    finally:
        running.stop()
        drop_postgres_database(database_url)


def test_abandoned_upload_temp_files_are_swept_at_start_and_by_the_recovery_sweep(stack: Stack) -> None:
    tmp_dir = Path(stack.env["UPLOAD_DIR"]) / ".tmp"
    abandoned = _temp_file(tmp_dir, "upload-abandoned.part", age_minutes=MAX_AGE_MINUTES + 60)
    in_progress = _temp_file(tmp_dir, "upload-in-progress.part", age_minutes=1)
    not_an_upload = _temp_file(tmp_dir, "notes-kept.txt", age_minutes=MAX_AGE_MINUTES + 60)

    stack.start_api()
    stack.wait_ready()
    assert not abandoned.exists()
    assert in_progress.read_bytes() == b"%PDF-1.7 partial upload" and not_an_upload.exists()

    # While the API runs: a process killed mid-upload elsewhere leaves one behind; beat's sweep takes it.
    stack.start_worker(concurrency=1)
    stack.wait_ready()
    left_behind = _temp_file(tmp_dir, "upload-left-behind.part", age_minutes=MAX_AGE_MINUTES + 1)
    stack.spawn(
        "beat",
        [
            *(sys.executable, "-m", "celery", "-A", "fastapi_app.tasks.celery_app", "beat"),
            *("--schedule", str(stack.workdir / "celerybeat-schedule")),
        ],
    )
    deadline = time.monotonic() + 30
    while left_behind.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left_behind.exists(), stack.output("worker")
    assert "removed 1 abandoned upload temp files" in (stack.workdir / "logs" / "celery.log").read_text()
    assert in_progress.exists() and not_an_upload.exists()
