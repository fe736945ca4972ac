"""Issue 18: a scanned PDF above PAGE_FANOUT_THRESHOLD is split into page parts that two worker processes
OCR in parallel, merged into one extraction and one report; a worker killed in a part re-runs that part.

A stack of its own (uvicorn, two Celery workers of one process each, PostgreSQL, Redis) with a threshold
of 2 pages, so a 4-page scan fans out.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.client import ApiClient
from tests.support.documents import scanned_pages_pdf
from tests.support.stack import Stack, stack_env

pytestmark = pytest.mark.e2e

PAGE_WORDS = ["ALPHA BRAVO CHARLIE", "DELTA ECHO FOXTROT", "GOLF HOTEL INDIA", "JULIET KILO LIMA"]


@pytest.fixture(scope="module")
def fanout_stack(postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack-fanout")
    stack = Stack(
        env=stack_env(
            workdir,
            DATABASE_URL=postgres_url,
            CELERY_BROKER_URL=redis_url,
            REDIS_URL=redis_url,
            PAGE_FANOUT_THRESHOLD=2,
            PAGE_FANOUT_CHUNK=1,
            OCR_LANGUAGES="eng",
        ),
        workdir=workdir,
    )
    stack.migrate()
    stack.start_api()
    stack.start_worker("worker-a", concurrency=1)
    stack.start_worker("worker-b", concurrency=1)
    try:
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()


def _db(stack: Stack) -> psycopg.Connection[Any]:
    return psycopg.connect(stack.env["DATABASE_URL"], autocommit=True, connect_timeout=5)


def _parts(stack: Stack, document_id: str) -> list[tuple[Any, ...]]:
    with _db(stack) as conn:
        return conn.execute(
            "SELECT first_page, last_page, status, attempts, lost, worker FROM document_parts"
            " WHERE document_id = %s ORDER BY first_page",
            (document_id,),
        ).fetchall()


def _stored_once(stack: Stack, document_id: str) -> tuple[int, int]:
    with _db(stack) as conn:
        extractions = conn.execute("SELECT count(*) FROM extraction_results WHERE document_id = %s", (document_id,))
        extraction_count = extractions.fetchone()[0]  # type: ignore[index]
        reports = conn.execute("SELECT count(*) FROM reports WHERE document_id = %s", (document_id,))
        return extraction_count, reports.fetchone()[0]  # type: ignore[index]


def _upload(api: ApiClient, tmp_path: Path, words: list[str]) -> str:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(scanned_pages_pdf(words))
    response = api.upload(scan, filename="scan.pdf")
    assert response.status_code == 202, response.text
    return str(response.json()["data"]["id"])


def _assert_merged_once(api: ApiClient, stack: Stack, document_id: str, words: list[str]) -> None:
    result = api.extracted(document_id)
    pages = result["pdf"]["pages"]
    assert [page["number"] for page in pages] == list(range(1, len(words) + 1))
    assert [page["text"] for page in pages] == words
    assert all(page["text_source"] == "ocr" for page in pages)
    assert result["ocr"]["pages"] == len(words)
    assert result["text"] == "\n\n".join(words)
    assert _stored_once(stack, document_id) == (1, 1)
    with _db(stack) as conn:
        kept = conn.execute(
            "SELECT count(*) FROM document_parts WHERE document_id = %s AND span IS NOT NULL", (document_id,)
        ).fetchone()
    assert kept == (0,), "the parts' copies of the text outlived the merge"
    reports = api.get(f"/api/documents/{document_id}/reports").json()["data"]
    assert [report["version"] for report in reports] == [1]


def test_a_scan_is_split_across_two_workers_and_merged_once(fanout_stack: Stack, tmp_path: Path) -> None:
    api = ApiClient(fanout_stack.base_url)
    api.register_and_login()
    document_id = _upload(api, tmp_path, PAGE_WORDS)

    done = api.wait_for(document_id, timeout=300)
    assert done["status"] == "completed", done

    parts = _parts(fanout_stack, document_id)
    assert [(first, last, status) for first, last, status, *_ in parts] == [(n, n, "done") for n in range(1, 5)]
    workers = {worker for *_, worker in parts}
    assert len(workers) >= 2, workers  # hostname:pid of the pool process that ran each part
    assert {worker.split("@")[0].rsplit("-", 1)[0] for worker in workers} == {"worker-a", "worker-b"}
    _assert_merged_once(api, fanout_stack, document_id, PAGE_WORDS)

    events = api.get(f"/api/documents/{document_id}/events").json()["data"]
    counted = [event["current_page"] for event in events if event.get("current_page") is not None]
    assert counted == sorted(counted) and counted[-1] == 4, counted
    assert {event["total_pages"] for event in events if event.get("current_page") is not None} == {4}
    progress = [event["progress"] for event in events]
    assert progress == sorted(progress) and progress[-1] == 100, progress


def test_a_worker_killed_in_a_part_reruns_only_that_part(fanout_stack: Stack, tmp_path: Path) -> None:
    api = ApiClient(fanout_stack.base_url)
    api.register_and_login()
    words = [*PAGE_WORDS, "MIKE NOVEMBER OSCAR", "PAPA QUEBEC ROMEO"]
    document_id = _upload(api, tmp_path, words)

    # The first part a pool process takes is killed (kill -9) while it runs.
    victim: tuple[Any, ...] | None = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        running = [part for part in _parts(fanout_stack, document_id) if part[2] == "running"]
        victim = running[0] if running else None
        time.sleep(0.05)
    assert victim is not None, "no part started"
    os.kill(int(victim[5].rsplit(":", 1)[1]), signal.SIGKILL)

    done = api.wait_for(document_id, timeout=300)
    assert done["status"] == "completed", done
    # The killed part ran again (its second delivery found it `running`: one lost); no other part re-ran.
    parts = [(status, attempts, lost) for _, _, status, attempts, lost, _ in _parts(fanout_stack, document_id)]
    assert sorted(parts) == [("done", 1, 0)] * (len(words) - 1) + [("done", 2, 1)], parts
    _assert_merged_once(api, fanout_stack, document_id, words)
