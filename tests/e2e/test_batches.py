"""Batch uploads and Idempotency-Key against the real processes: two uvicorn instances and a Celery
worker on PostgreSQL and Redis (the `live_stack`)."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import websockets

from tests.support import bombs
from tests.support.client import ApiClient
from tests.support.documents import corrupt_pdf, png_bytes, small_text_pdf
from tests.support.services import free_port
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "samples"
HWP_CORPUS = ROOT / "tests" / "corpus" / "hwp"
FINAL = ("completed", "failed")


def _good_files() -> list[tuple[str, bytes]]:
    """Light real samples of every family (nothing that needs minutes of OCR)."""
    paths = [
        SAMPLES / "pdf" / "korean_invoice.pdf",
        SAMPLES / "pdf" / "unruled_table.pdf",
        SAMPLES / "sheets" / "invoice_kv.xlsx",
        SAMPLES / "sheets" / "sales_multisheet.xlsx",
        SAMPLES / "sheets" / "date1904.xlsx",
        SAMPLES / "sheets" / "korean_cp949.csv",
        SAMPLES / "sheets" / "semicolon_utf8bom.csv",
        HWP_CORPUS / "hwprs_hello_world.hwp",
        HWP_CORPUS / "hwpxlib_table.hwpx",
        HWP_CORPUS / "hwpxlib_multipara.hwpx",
    ]
    files = [(path.name, path.read_bytes()) for path in paths]
    files += [(f"blank_{n}.png", png_bytes(320 + n, 120)) for n in range(8)]
    text_pdf = small_text_pdf()
    while len(files) < 43:
        # The same bytes again: accepted, flagged DUPLICATE_UPLOAD, processed like the first.
        files.append((f"copy_{len(files)}.pdf", text_pdf))
    return files


def _post_batch(api: ApiClient, files: list[tuple[str, bytes]], **kwargs: Any) -> httpx.Response:
    return api.post(
        "/api/documents/batch", files=[("files", (name, content)) for name, content in files], timeout=120, **kwargs
    )


def _wait_batch(api: ApiClient, batch_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = api.get(f"/api/batches/{batch_id}")
        assert r.status_code == 200, r.text
        batch = r.json()["data"]
        if batch["completed_at"] is not None:
            return batch
        time.sleep(0.5)
    raise TimeoutError(f"batch {batch_id} not finished: {batch['counts']}")


def _all_cells(xlsx: bytes) -> set[str]:
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    return {str(cell) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for cell in row}


def test_a_batch_of_fifty_mixed_files(live_stack: Stack, client: ApiClient) -> None:
    good = _good_files()
    bad = [
        ("empty.pdf", b""),
        ("notes.bin", bytes(range(256)) * 8),  # no type we read
        ("prices.xlsx", small_text_pdf().replace(b"42183017", b"99999999")),  # a PDF named .xlsx
        ("too_big.csv", b"a,b\n" + b"1,2\n" * (3 * 1024 * 1024)),  # 12 MiB > MAX_UPLOAD_SIZE (10 MiB)
        ("broken.pdf", corrupt_pdf()),  # accepted (it sniffs as PDF), fails in the worker
        ("../../etc/\u202epasswd.pdf", small_text_pdf().replace(b"42183017", b"77777777")),  # hostile name
        ("C:\\Windows\\system32\\con.pdf", small_text_pdf().replace(b"42183017", b"55555555")),
    ]
    files = good + bad
    assert len(files) == 50

    async def batch_events(batch_id_holder: dict[str, str]) -> list[dict[str, Any]]:
        url = live_stack.base_url.replace("http://", "ws://") + f"/ws?token={client.token}"
        seen: list[dict[str, Any]] = []
        async with websockets.connect(url, max_size=None) as ws:
            batch_id_holder["ready"] = "yes"
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic()))
                if str(message.get("type", "")).startswith("batch."):
                    seen.append(message)
                    if message["type"] == "batch.completed":
                        return seen
        return seen

    holder: dict[str, str] = {}
    events: list[dict[str, Any]] = []
    listener = threading.Thread(target=lambda: events.extend(asyncio.run(batch_events(holder))), daemon=True)
    listener.start()
    while "ready" not in holder:
        time.sleep(0.05)

    r = _post_batch(client, files)
    assert r.status_code == 202, r.text
    data = r.json()["data"]
    assert (data["source"], data["total"], data["accepted"], data["rejected"]) == ("files", 50, 46, 4)
    items = data["items"]
    assert [item["index"] for item in items] == list(range(50))
    rejected = {item["filename"]: item["error_code"] for item in items if item["status"] == "rejected"}
    assert rejected == {
        "empty.pdf": "EMPTY_FILE",
        "notes.bin": "UNSUPPORTED_FILE_TYPE",
        "prices.xlsx": "FILE_TYPE_MISMATCH",
        "too_big.csv": "FILE_TOO_LARGE",
    }
    accepted = [item for item in items if item["status"] == "accepted"]
    # The hostile names are display names only: no directory, no control or bidi characters.
    names = {item["document"]["original_filename"] for item in accepted}
    assert {"passwd.pdf", "_con.pdf"} <= names
    assert all("/" not in name and "\\" not in name and "\u202e" not in name for name in names)
    # Same shape as the single upload's document.
    single = client.upload_bytes(png_bytes(200, 90), "single.png").json()["data"]
    assert set(accepted[0]["document"]) == set(single)
    assert sum(1 for item in accepted if item["document"]["duplicate_of_id"]) >= 20

    batch = _wait_batch(client, data["batch_id"])
    assert batch["accepted"] == 46 and batch["rejected"] == 4 and batch["total_documents"] == 46
    assert batch["counts"]["completed"] == 45 and batch["counts"]["failed"] == 1
    assert {(i["filename"], i["error_code"]) for i in batch["rejected_items"]} == set(rejected.items())
    failed = [d for d in batch["documents"] if d["status"] == "failed"]
    assert [(d["original_filename"], d["error_code"]) for d in failed] == [("broken.pdf", "CORRUPT_FILE")]
    assert {d["id"] for d in batch["documents"]} == {item["document"]["id"] for item in accepted}

    listener.join(timeout=60)
    batch_messages = [e for e in events if e.get("batch_id") == data["batch_id"]]
    assert any(e["type"] == "batch.progress" for e in batch_messages)
    completed = [e for e in batch_messages if e["type"] == "batch.completed"]
    assert len(completed) == 1
    assert completed[0]["counts"]["completed"] == 45 and completed[0]["finished"] == completed[0]["total"] == 46

    report = client.get(f"/api/batches/{data['batch_id']}/report", params={"format": "xlsx"})
    assert report.status_code == 200, report.text
    cells = _all_cells(report.content)
    assert names <= cells
    assert "single.png" not in cells  # only the batch's documents


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zip_batch_neutralises_hostile_entries(client: ApiClient, tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link_to_passwd.pdf")
    link.external_attr = (0o120777 << 16) | 0x20  # a symbolic link entry
    inner = _zip([("a.pdf", small_text_pdf())])
    ods_bomb = bombs.ods_mimetype_bomb(tmp_path / "bomb.ods", inflated=512 * bombs.MiB).read_bytes()
    archive = _zip(
        [
            ("../../../../tmp/evil.pdf", small_text_pdf()),
            ("/etc/absolute.xlsx", (SAMPLES / "sheets" / "invoice_kv.xlsx").read_bytes()),
            ("folder/inner.zip", inner),
            (link, b"/etc/passwd"),
            ("sheets/bomb.ods", ods_bomb),
            ("folder/empty.csv", b""),
        ]
    )
    r = client.post("/api/documents/batch", files={"archive": ("march.zip", archive)}, timeout=60)
    assert r.status_code == 202, r.text
    data = r.json()["data"]
    assert data["source"] == "zip"
    outcome = {item["filename"]: item.get("error_code") or item["status"] for item in data["items"]}
    assert outcome == {
        "evil.pdf": "accepted",
        "absolute.xlsx": "accepted",
        "inner.zip": "NESTED_ARCHIVE",
        "link_to_passwd.pdf": "UNSAFE_ARCHIVE_ENTRY",
        "bomb.ods": "ARCHIVE_BOMB",
        "empty.csv": "EMPTY_FILE",
    }
    batch = _wait_batch(client, data["batch_id"], timeout=120)
    assert batch["counts"]["completed"] == 2 and batch["source"] == "zip"


def test_a_zip_bomb_or_too_many_entries_refuses_the_whole_zip(client: ApiClient, tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("fine.pdf", small_text_pdf())
        bombs._stream_member(archive, "zeros.csv", b"", b"0", 300 * bombs.MiB, b"")
    before = client.get("/api/documents/").json()["total"]
    r = client.post("/api/documents/batch", files={"archive": ("bomb.zip", path.read_bytes())}, timeout=60)
    assert r.status_code == 413 and r.json()["error_code"] == "ARCHIVE_BOMB", r.text

    many = _zip([(f"f{n}.csv", f"a,b\n{n},2\n".encode()) for n in range(101)])
    r = client.post("/api/documents/batch", files={"archive": ("many.zip", many)}, timeout=60)
    assert r.status_code == 413 and r.json()["error_code"] == "BATCH_TOO_MANY_FILES", r.text
    assert client.get("/api/documents/").json()["total"] == before


def test_a_batch_with_nothing_acceptable_is_422_and_writes_nothing(client: ApiClient) -> None:
    r = _post_batch(client, [("empty.pdf", b""), ("x.bin", bytes(range(256)))])
    assert r.status_code == 422 and r.json()["error_code"] == "BATCH_REJECTED", r.text
    codes = [item["error_code"] for item in r.json()["details"]["items"]]
    assert codes == ["EMPTY_FILE", "UNSUPPORTED_FILE_TYPE"]
    assert client.get("/api/documents/").json()["total"] == 0


def test_another_users_batch_is_404(live_stack: Stack, client: ApiClient) -> None:
    r = _post_batch(client, [("one.pdf", small_text_pdf())])
    batch_id = r.json()["data"]["batch_id"]
    stranger = ApiClient(live_stack.base_url)
    stranger.register_and_login()
    for path in (f"/api/batches/{batch_id}", f"/api/batches/{batch_id}/report?format=xlsx"):
        r = stranger.get(path)
        assert r.status_code == 404 and r.json()["error_code"] == "BATCH_NOT_FOUND", r.text
    assert stranger.get("/api/batches/not-a-uuid").json()["error_code"] == "BATCH_NOT_FOUND"


def _upload_with_key(base_url: str, token: str, key: str, content: bytes, name: str = "a.pdf") -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/documents/upload",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        files={"file": (name, content)},
        timeout=30,
    )


def test_an_idempotent_retry_returns_the_first_document(live_stack: Stack, client: ApiClient) -> None:
    key = f"retry-{uuid.uuid4()}"
    content = small_text_pdf()
    first = _upload_with_key(live_stack.base_url, client.token or "", key, content)
    assert first.status_code == 202, first.text
    again = _upload_with_key(live_stack.base_url, client.token or "", key, content)
    assert again.status_code == 202
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.get("/api/documents/").json()["total"] == 1

    other = _upload_with_key(live_stack.base_url, client.token or "", key, content.replace(b"42183017", b"1"))
    assert other.status_code == 409 and other.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED", other.text
    renamed = _upload_with_key(live_stack.base_url, client.token or "", key, content, name="b.pdf")
    assert renamed.status_code == 409 and renamed.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    assert client.get("/api/documents/").json()["total"] == 1

    # The key belongs to its account: another user's same key is a request of their own.
    stranger = ApiClient(live_stack.base_url)
    stranger.register_and_login()
    theirs = _upload_with_key(live_stack.base_url, stranger.token or "", key, content)
    assert theirs.status_code == 202 and theirs.json()["data"]["id"] != first.json()["data"]["id"]

    for bad in ("", "x" * 256, "has space", "한글"):
        r = httpx.post(
            f"{live_stack.base_url}/api/documents/upload",
            headers={"Authorization": f"Bearer {client.token}", "Idempotency-Key": bad.encode()},
            files={"file": ("a.pdf", content)},
        )
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_IDEMPOTENCY_KEY", (bad, r.text)


def test_the_key_holds_across_api_instances(live_stack: Stack, client: ApiClient) -> None:
    key = f"cross-{uuid.uuid4()}"
    content = small_text_pdf().replace(b"42183017", b"31415926")
    first = _upload_with_key(live_stack.url("uvicorn"), client.token or "", key, content)
    second = _upload_with_key(live_stack.url("uvicorn-b"), client.token or "", key, content)
    assert first.status_code == second.status_code == 202
    assert second.json()["data"]["id"] == first.json()["data"]["id"]
    assert client.get("/api/documents/").json()["total"] == 1


def test_concurrent_duplicates_make_one_document(live_stack: Stack, client: ApiClient) -> None:
    key = f"race-{uuid.uuid4()}"
    content = small_text_pdf().replace(b"42183017", b"27182818")
    answers: list[httpx.Response] = []
    urls = [live_stack.url("uvicorn"), live_stack.url("uvicorn-b")] * 3
    threads = [
        threading.Thread(target=lambda u=url: answers.append(_upload_with_key(u, client.token or "", key, content)))
        for url in urls
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = [r for r in answers if r.status_code == 202]
    assert ok and {r.json()["data"]["id"] for r in ok} == {ok[0].json()["data"]["id"]}
    assert all(r.status_code == 202 or r.json()["error_code"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS" for r in answers)
    assert client.get("/api/documents/").json()["total"] == 1


def test_an_idempotent_batch_retry_makes_no_second_batch(client: ApiClient) -> None:
    key = f"batch-{uuid.uuid4()}"
    files = [("one.pdf", small_text_pdf()), ("two.csv", b"a,b\n1,2\n")]
    first = _post_batch(client, files, headers={"Idempotency-Key": key})
    again = _post_batch(client, files, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert again.json()["data"]["batch_id"] == first.json()["data"]["batch_id"]
    assert client.get("/api/documents/").json()["total"] == 2
    fewer = _post_batch(client, files[:1], headers={"Idempotency-Key": key})
    assert fewer.status_code == 409 and fewer.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"


def test_idempotency_fails_closed_when_redis_is_down(live_stack: Stack, tmp_path: Path) -> None:
    """An API instance whose Redis is unreachable: a keyed upload is 503 and writes nothing; an upload
    without a key does not need Redis."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    env = {**live_stack.env, "REDIS_URL": dead_redis, "LOG_DIR": str(tmp_path / "logs")}
    stack = Stack(env=env, workdir=tmp_path)
    stack.start_api("uvicorn-no-redis")
    try:
        stack.wait_ready()
        api = ApiClient(stack.base_url)
        api.register_and_login()
        r = _upload_with_key(stack.base_url, api.token or "", f"down-{uuid.uuid4()}", small_text_pdf())
        assert r.status_code == 503 and r.json()["error_code"] == "SERVICE_UNAVAILABLE", r.text
        assert r.headers["Retry-After"] == "5"
        assert api.get("/api/documents/").json()["total"] == 0
        assert api.upload_bytes(small_text_pdf(), "no-key.pdf").status_code == 202
    finally:
        stack.stop()


def test_batches_and_keys_on_the_embedded_defaults(embedded_stack: Stack) -> None:
    """SQLite and the embedded broker, no Redis: the batch is written and processed, and the key is
    remembered by the single API process."""
    api = ApiClient(embedded_stack.base_url)
    api.register_and_login()
    key = f"embedded-{uuid.uuid4()}"
    files = [("one.pdf", small_text_pdf()), ("two.csv", b"a,b\n1,2\n"), ("empty.csv", b"")]
    first = _post_batch(api, files, headers={"Idempotency-Key": key})
    assert first.status_code == 202, first.text
    data = first.json()["data"]
    assert (data["accepted"], data["rejected"]) == (2, 1)
    again = _post_batch(api, files, headers={"Idempotency-Key": key})
    assert again.content == first.content
    batch = _wait_batch(api, data["batch_id"], timeout=120)
    assert batch["counts"]["completed"] == 2
    assert api.get("/api/documents/").json()["total"] == 2
