"""Decompression bombs and absurd sheets against the real processes: uvicorn and a Celery worker on
PostgreSQL and Redis. Memory is read from /proc of the stack's own processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import bombs
from tests.support.client import ApiClient
from tests.support.documents import korean_invoice_xlsx
from tests.support.services import create_postgres_database, drop_postgres_database
from tests.support.stack import Stack, stack_env

pytestmark = pytest.mark.e2e

MiB = bombs.MiB


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs-e2e")
    return {
        "ods_mimetype_bomb": bombs.ods_mimetype_bomb(folder / "bomb.ods", inflated=512 * MiB),
        "sheet_bomb": bombs.xlsx_sheet_bomb(folder / "sheet-bomb.xlsx", inflated=64 * MiB),
        "lying": bombs.lying_directory_xlsx(folder / "lying.xlsx"),
        "cv": bombs.sparse_sheet_xlsx(folder / "cv.xlsx", "CV1048576"),
        "xfd": bombs.sparse_sheet_xlsx(folder / "xfd.xlsx", "XFD1048576"),
        "invoice": korean_invoice_xlsx(folder / "invoice.xlsx"),
    }


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing for pid {pid}")


def _reset_peak_rss(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.update(int(child) for child in children)
    return found


def _assert_envelope(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["success"], body["error_code"]) == (False, code)
    assert body["message"] and "Traceback" not in response.text
    return body


def _process(client: ApiClient, path: Path, filename: str, timeout: float = 90) -> dict:  # type: ignore[type-arg]
    response = client.upload(path, filename)
    assert response.status_code == 202, response.text
    return client.wait_for(response.json()["data"]["id"], timeout=timeout)


def test_ods_mimetype_bomb_is_refused_at_upload_without_growing_the_api(
    client: ApiClient, live_stack: Stack, generated: dict[str, Path]
) -> None:
    api_pid = live_stack.processes["uvicorn"].pid
    before_total = client.get("/api/documents/").json()["total"]
    _reset_peak_rss(api_pid)
    baseline = _status_kib(api_pid, "VmHWM")

    response = client.upload(generated["ods_mimetype_bomb"], "quarterly.ods")

    growth_mib = (_status_kib(api_pid, "VmHWM") - baseline) / 1024
    body = _assert_envelope(response, 413, "ARCHIVE_BOMB")
    assert "'mimetype'" in body["message"]
    # Unfixed, sniffing read the 512 MiB member whole and stripped a copy: over 1 GiB.
    assert growth_mib < 150, f"the API's peak RSS grew by {growth_mib:.0f} MiB"
    assert client.get("/api/documents/").json()["total"] == before_total


def test_workbook_whose_sheet_is_a_bomb_is_refused_at_upload(client: ApiClient, generated: dict[str, Path]) -> None:
    body = _assert_envelope(client.upload(generated["sheet_bomb"], "report.xlsx"), 413, "ARCHIVE_BOMB")
    assert "xl/worksheets/sheet1.xml" in body["message"]


def test_a_lying_central_directory_fails_the_document_in_the_worker(
    client: ApiClient, generated: dict[str, Path]
) -> None:
    # Its directory declares 1000 bytes, so the upload's checks pass; the worker inflates for real.
    done = _process(client, generated["lying"], "lying.xlsx")
    assert (done["status"], done["error_code"]) == ("failed", "ARCHIVE_BOMB")
    assert "its directory declares" in done["error_message"]


@pytest.mark.parametrize("name", ["cv", "xfd"])
def test_huge_sheet_fails_cleanly_and_the_worker_keeps_working(
    client: ApiClient, live_stack: Stack, generated: dict[str, Path], name: str
) -> None:
    worker = live_stack.processes["worker"]
    children_before = _children(worker.pid)

    done = _process(client, generated[name], f"{name}.xlsx")

    assert (done["status"], done["error_code"]) == ("failed", "SHEET_TOO_LARGE")
    assert "above the limit of 10,000,000" in done["error_message"]
    assert done["attempts"] == 1  # refused on the first try, not after crashes and redeliveries
    assert worker.poll() is None
    assert _children(worker.pid) == children_before, "a pool child was replaced: it died on the file"
    after = _process(client, generated["invoice"], "invoice.xlsx")
    assert after["status"] == "completed", after


# --- the address-space limit itself, with the sheet check switched off ----------------------------


@pytest.fixture(scope="module")
def limited_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose only defence is WORKER_MEMORY_LIMIT_MB: the sheet-extent and pixel checks are
    set out of the way, to show what the limit does on its own."""
    database = create_postgres_database()
    workdir = tmp_path_factory.mktemp("stack-limited")
    stack = Stack(
        env=stack_env(
            workdir,
            DATABASE_URL=database,
            CELERY_BROKER_URL=redis_url,
            REDIS_URL=redis_url,
            WORKER_MEMORY_LIMIT_MB=1024,
            MAX_SHEET_GRID_CELLS=10**12,
            MAX_IMAGE_PIXELS=10**10,
            MAX_PROCESSING_ATTEMPTS=2,
            OCR_ENABLED="true",
        ),
        workdir=workdir,
    )
    try:
        with stack.serving(concurrency=1):
            yield stack
    finally:
        drop_postgres_database(database)


@pytest.fixture
def limited_client(limited_stack: Stack) -> ApiClient:
    api = ApiClient(limited_stack.base_url)
    api.register_and_login()
    return api


def test_pool_children_run_under_the_address_space_limit(limited_stack: Stack) -> None:
    worker = limited_stack.processes["worker"]
    children = _children(worker.pid)
    assert children
    for child in children:
        limits = Path(f"/proc/{child}/limits").read_text()
        line = next(row for row in limits.splitlines() if row.startswith("Max address space"))
        assert line.split()[3] == str(1024 * MiB), line
    parent = Path(f"/proc/{worker.pid}/limits").read_text()
    assert "Max address space         unlimited" in parent  # the supervisor is never limited


def test_a_python_allocation_past_the_limit_fails_the_document_memory_limit(
    limited_client: ApiClient, limited_stack: Stack, tmp_path: Path
) -> None:
    worker = limited_stack.processes["worker"]
    children_before = _children(worker.pid)
    picture = tmp_path / "wall.png"
    # 13,000 x 13,000 RGB: under Pillow's own bomb threshold, 507 MB per decoded copy for OCR.
    picture.write_bytes(bombs.rgb_png(13_000, 13_000))

    done = _process(limited_client, picture, "wall.png")

    assert (done["status"], done["error_code"]) == ("failed", "MEMORY_LIMIT"), done
    assert _children(worker.pid) == children_before, "the child died instead of failing the document"


def test_a_native_abort_past_the_limit_ends_worker_lost_not_a_loop(
    limited_client: ApiClient, limited_stack: Stack, generated: dict[str, Path]
) -> None:
    # calamine (Rust) aborts on a failed allocation: the child dies with SIGABRT each time, Celery
    # redelivers, and after MAX_PROCESSING_ATTEMPTS deaths the document fails for good.
    worker = limited_stack.processes["worker"]
    done = _process(limited_client, generated["cv"], "cv.xlsx", timeout=180)
    assert (done["status"], done["error_code"]) == ("failed", "WORKER_LOST"), done
    assert "memory allocation of" in (limited_stack.workdir / "worker.out").read_text(errors="replace")
    assert worker.poll() is None
    after = _process(limited_client, generated["invoice"], "invoice.xlsx")
    assert after["status"] == "completed", after
