"""STORAGE_BACKEND=s3 end to end: uvicorn and a Celery worker as separate processes, PostgreSQL,
Redis, and moto's S3 server on loopback. Nothing of an upload may stay on the API host's disk."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import ApiClient
from tests.support.documents import corrupt_pdf, korean_invoice_xlsx, small_text_pdf
from tests.support.s3 import moto_s3_server, s3_client
from tests.support.stack import Stack, stack_env

pytestmark = pytest.mark.e2e

PREFIX = "originals/"
GENERATED_KEY = re.compile(rf"^{PREFIX}[0-9a-f]{{32}}\.(pdf|xlsx)$")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


def _s3(endpoint: str) -> Any:
    return s3_client(endpoint, "testing", "fake-secret-for-moto")


def _s3_env(workdir: Path, postgres_url: str, redis_url: str, endpoint: str, bucket: str) -> dict[str, str]:
    return stack_env(
        workdir, DATABASE_URL=postgres_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url,
        STORAGE_BACKEND="s3", S3_ENDPOINT_URL=endpoint, S3_BUCKET=bucket, S3_PREFIX=PREFIX,
        S3_REGION="us-east-1", S3_ACCESS_KEY_ID="testing", S3_SECRET_ACCESS_KEY="fake-secret-for-moto",
    )  # fmt: skip


@pytest.fixture(scope="module")
def s3_stack(
    postgres_url: str, redis_url: str, s3_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, str]]:
    bucket = f"documents-{uuid.uuid4().hex[:10]}"
    _s3(s3_server).create_bucket(Bucket=bucket)
    workdir = tmp_path_factory.mktemp("stack-s3")
    stack = Stack(env=_s3_env(workdir, postgres_url, redis_url, s3_server, bucket), workdir=workdir)
    with stack.serving(concurrency=1):
        yield stack, bucket


def _keys(endpoint: str, bucket: str) -> set[str]:
    return {o["Key"] for o in _s3(endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])}


def _local_files(stack: Stack) -> list[Path]:
    return [p for p in Path(stack.env["UPLOAD_DIR"]).rglob("*") if p.is_file()]


def test_documents_live_in_the_bucket(s3_stack: tuple[Stack, str], s3_server: str, tmp_path: Path) -> None:
    from fastapi_app.api.documents import content_disposition

    stack, bucket = s3_stack
    api = ApiClient(stack.base_url)
    api.register_and_login()
    before = _keys(s3_server, bucket)

    pdf_bytes = small_text_pdf()
    xlsx_path = korean_invoice_xlsx(tmp_path / "견적서.xlsx")
    pdf_id = api.upload_bytes(pdf_bytes, "송장 3월.pdf").json()["data"]["id"]
    xlsx_id = api.upload(xlsx_path).json()["data"]["id"]
    for document_id in (pdf_id, xlsx_id):
        done = api.wait_for(document_id)
        assert done["status"] == "completed", done
    assert "Invoice Number 42183017" in api.extracted(pdf_id)["text"]
    sheets = api.extracted(xlsx_id)["spreadsheet"]["sheets"]
    assert sheets[0]["name"] == "송장" and sheets[0]["rows"][0][:2] == ["송장번호", "INV-2026-0315"]

    # Stored under generated names only, byte for byte; nothing left on the API/worker host.
    new_keys = _keys(s3_server, bucket) - before
    assert len(new_keys) == 2 and all(GENERATED_KEY.match(k) for k in new_keys), new_keys
    stored = {_s3(s3_server).get_object(Bucket=bucket, Key=k)["Body"].read(): k for k in new_keys}
    assert set(stored) == {pdf_bytes, xlsx_path.read_bytes()}
    assert _local_files(stack) == []

    download = api.get(f"/api/documents/{pdf_id}/download")
    assert download.status_code == 200
    assert download.content == pdf_bytes
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == content_disposition("송장 3월.pdf")
    assert download.headers["content-length"] == str(len(pdf_bytes))
    assert download.headers["x-content-type-options"] == "nosniff"
    xlsx_download = api.get(f"/api/documents/{xlsx_id}/download")
    assert xlsx_download.content == xlsx_path.read_bytes()
    assert xlsx_download.headers["content-disposition"] == content_disposition("견적서.xlsx")
    assert xlsx_download.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )

    assert api.request("DELETE", f"/api/documents/{xlsx_id}").status_code == 200
    assert stored[xlsx_path.read_bytes()] not in _keys(s3_server, bucket)
    assert stored[pdf_bytes] in _keys(s3_server, bucket)
    assert _local_files(stack) == []


def test_corrupt_file_keeps_its_object_until_deleted(s3_stack: tuple[Stack, str], s3_server: str) -> None:
    stack, bucket = s3_stack
    api = ApiClient(stack.base_url)
    api.register_and_login()
    before = _keys(s3_server, bucket)
    document_id = api.upload_bytes(corrupt_pdf(), "broken.pdf").json()["data"]["id"]
    done = api.wait_for(document_id)
    assert (done["status"], done["error_code"]) == ("failed", "CORRUPT_FILE")
    (key,) = _keys(s3_server, bucket) - before
    assert GENERATED_KEY.match(key)
    assert _local_files(stack) == []  # the worker's copy went with the failure

    assert api.request("DELETE", f"/api/documents/{document_id}").status_code == 200
    assert key not in _keys(s3_server, bucket)


def test_readiness_checks_the_bucket(
    s3_stack: tuple[Stack, str], s3_server: str, postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    stack, _ = s3_stack
    ready = httpx.get(f"{stack.base_url}/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["data"]["checks"]["storage"]["ok"] is True

    wrong = Stack(env=_s3_env(tmp_path, postgres_url, redis_url, s3_server, "no-such-bucket"), workdir=tmp_path)
    try:
        wrong.start_api()
        wrong.wait_ready()
        response = httpx.get(f"{wrong.base_url}/health/ready", timeout=10)
    finally:
        wrong.stop()
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error_code"] == "SERVICE_UNAVAILABLE"
    assert "storage" in body["message"]
    checks = body["details"]["checks"]
    assert checks["storage"]["ok"] is False and checks["database"]["ok"] is True
