"""Where a worker's time goes on one small document: each pipeline step, in process, on PostgreSQL + Redis.

    PYTHONPATH=. .venv/bin/python -m bench.worker_steps [--documents 60] [--file tests/samples/pdf/korean_invoice.pdf]

A fresh database is migrated; `--documents` copies of the file are stored as uploads of one user, and
`DocumentPipeline.execute()` (what the Celery task runs, without Celery) processes them one after another
in this process, after three warm-up documents. Each step's wall time is summed and printed per document,
beside the extraction itself (`extract_content`, `analyze_content`): the difference is the pipeline's own
cost (claim, stage events, storing, webhook check), the figure issue 18's overhead target is about.
"""

from __future__ import annotations

import argparse
import collections
import functools
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.services import create_postgres_database, drop_postgres_database, require_redis
from tests.support.stack import ROOT, stack_env

STEPS = ("_claim", "_read_and_extract", "_set_stage", "_analyze", "_report", "_finish", "_send_webhook")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--file", type=Path, default=ROOT / "tests" / "samples" / "pdf" / "korean_invoice.pdf")
    args = parser.parse_args()
    database = create_postgres_database()
    redis_url = require_redis()
    env = stack_env(Path(tempfile.mkdtemp(prefix="bench-steps-")), DATABASE_URL=database, REDIS_URL=redis_url,
                    CELERY_BROKER_URL=redis_url)  # fmt: skip
    os.environ.update(env)
    try:
        subprocess.run([sys.executable, "init_db.py"], cwd=ROOT, env=env, check=True, capture_output=True)
        measure(args.file, args.documents)
    finally:
        drop_postgres_database(database)


def measure(path: Path, count: int) -> None:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.files.filetypes import detect_type
    from fastapi_app.files.storage import get_storage
    from fastapi_app.models import Document, User
    from fastapi_app.realtime import publisher
    from fastapi_app.tasks import pipeline

    content = path.read_bytes()
    detected = detect_type(path, path.name, None)
    with sync_session_factory().begin() as session:
        user = User(username=f"steps_{uuid.uuid4().hex[:8]}", email=f"{uuid.uuid4().hex[:8]}@example.com",
                    hashed_password="x")  # fmt: skip  # noqa: S106 (never logs in)
        session.add(user)
        session.flush()
        owner_id = user.id
    ids = []
    for _ in range(count + 3):
        storage = get_storage()
        name = storage.new_stored_name(path.suffix)
        target = storage.path_for(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        with sync_session_factory().begin() as session:
            document = Document(owner_id=owner_id, original_filename=path.name, stored_name=name,
                                file_type=detected.family, mime_type=detected.mime_type, size_bytes=len(content),
                                sha256=hashlib.sha256(content).hexdigest())  # fmt: skip
            session.add(document)
            session.flush()
            ids.append(str(document.id))
    totals: dict[str, float] = collections.defaultdict(float)
    calls: collections.Counter[str] = collections.Counter()

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - started
                calls[label] += 1

        return wrapper

    for step in STEPS:
        setattr(pipeline.DocumentPipeline, step, timed(step, getattr(pipeline.DocumentPipeline, step)))
    pipeline.extract_content = timed("extract_content", pipeline.extract_content)
    pipeline.analyze_content = timed("analyze_content", pipeline.analyze_content)
    publisher.announce = timed("announce (Redis)", publisher.announce)
    pipeline.announce = publisher.announce
    for document_id in ids[:3]:
        pipeline.DocumentPipeline(document_id, 1).execute()
    totals.clear()
    calls.clear()
    cpu = time.process_time()
    for document_id in ids[3:]:
        started = time.perf_counter()
        outcome = pipeline.DocumentPipeline(document_id, 1).execute()
        totals["execute (all)"] += time.perf_counter() - started
        assert outcome.status == "completed", outcome
    print(f"{path.name}, {count} documents, CPU {(time.process_time() - cpu) / count * 1000:.1f} ms/document; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    for label, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        per_call = f"({calls[label] / count:.1f} calls)" if calls[label] else ""
        print(f"  {label:20s} {seconds / count * 1000:7.2f} ms/document {per_call}")


if __name__ == "__main__":
    main()
