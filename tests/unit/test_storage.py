"""Storage backends against real servers: the filesystem, and moto's S3 server on loopback (a real
HTTP endpoint that boto3 talks to exactly as it talks to AWS or MinIO)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastapi_app.files.storage import (
    LocalStorage,
    S3Storage,
    StorageError,
    StorageUnavailable,
    StoredFileMissing,
)
from tests.support.documents import corrupt_pdf, small_text_pdf
from tests.support.s3 import moto_s3_server, s3_client
from tests.support.services import free_port

CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


def _admin(endpoint: str) -> Any:
    return s3_client(endpoint)


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    name = f"docs-{uuid.uuid4().hex[:12]}"
    _admin(s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(s3_endpoint: str, bucket: str, tmp_path: Path) -> S3Storage:
    return S3Storage(
        bucket=bucket, tmp_dir=tmp_path / ".tmp", prefix="/uploads/", endpoint_url=s3_endpoint, region="us-east-1",
        **CREDENTIALS,
    )  # fmt: skip


def _temp_with(storage: S3Storage | LocalStorage, data: bytes) -> Path:
    temp = storage.new_temp_path()
    temp.write_bytes(data)
    return temp


def _leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def test_s3_save_open_stream_delete(s3: S3Storage, s3_endpoint: str, bucket: str) -> None:
    data = small_text_pdf()
    name = s3.new_stored_name(".pdf")
    temp = _temp_with(s3, data)
    s3.save_from_temp(temp, name)
    assert not temp.exists()

    keys = [o["Key"] for o in _admin(s3_endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [f"uploads/{name}"]  # the prefix is normalised to exactly one trailing slash
    assert s3.exists(name)
    assert s3.local_path(name) is None

    with s3.open_local(name) as local:
        assert local.suffix == ".pdf"  # extractors pick CSV vs TSV and the like by suffix
        assert local.parent == s3.tmp_dir
        assert local.read_bytes() == data
    assert not local.exists()
    assert _leftovers(s3.tmp_dir) == []

    body = s3.stream(name, chunk_size=100)
    assert body.size == len(data)
    chunks = list(body)
    assert b"".join(chunks) == data and len(chunks) > 1

    s3.delete(name)
    assert not s3.exists(name)
    s3.delete(name)  # idempotent, as cleanup paths need


def test_s3_large_file_goes_multipart(s3: S3Storage, s3_endpoint: str, bucket: str) -> None:
    data = os.urandom(1024) * (9 * 1024)  # 9 MiB: above the multipart threshold
    name = s3.new_stored_name(".xlsx")
    s3.save_from_temp(_temp_with(s3, data), name)
    head = _admin(s3_endpoint).head_object(Bucket=bucket, Key=s3.key_for(name))
    assert "-" in head["ETag"]  # multipart ETags end in -<part count>
    with s3.open_local(name) as local:
        assert hashlib.sha256(local.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert hashlib.sha256(b"".join(s3.stream(name))).digest() == hashlib.sha256(data).digest()


def test_s3_missing_object(s3: S3Storage) -> None:
    with pytest.raises(StoredFileMissing), s3.open_local("0" * 32 + ".pdf"):
        pass
    assert _leftovers(s3.tmp_dir) == []
    with pytest.raises(StoredFileMissing):
        s3.stream("0" * 32 + ".pdf")
    assert not s3.exists("0" * 32 + ".pdf")


def test_s3_local_copy_removed_when_the_block_fails(s3: S3Storage) -> None:
    name = s3.new_stored_name(".pdf")
    s3.save_from_temp(_temp_with(s3, corrupt_pdf()), name)
    with pytest.raises(RuntimeError), s3.open_local(name):
        raise RuntimeError("extractor blew up")
    assert _leftovers(s3.tmp_dir) == []


def test_s3_readiness(s3: S3Storage, s3_endpoint: str, tmp_path: Path) -> None:
    s3.check_ready()
    wrong = S3Storage(bucket="no-such-bucket-here", tmp_dir=tmp_path / "w", endpoint_url=s3_endpoint, **CREDENTIALS)
    with pytest.raises(StorageUnavailable, match="no-such-bucket-here"):
        wrong.check_ready()
    down = S3Storage(
        bucket=s3.bucket, tmp_dir=tmp_path / "d", endpoint_url=f"http://127.0.0.1:{free_port()}", **CREDENTIALS
    )
    with pytest.raises(StorageUnavailable):
        down.check_ready()


def test_s3_save_into_missing_bucket_is_a_storage_error(s3_endpoint: str, tmp_path: Path) -> None:
    storage = S3Storage(bucket="not-created", tmp_dir=tmp_path / ".tmp", endpoint_url=s3_endpoint, **CREDENTIALS)
    with pytest.raises(StorageError):
        storage.save_from_temp(_temp_with(storage, b"%PDF-1.7"), storage.new_stored_name(".pdf"))
    storage.delete_quietly("anything.pdf")  # cleanup after a failed save never raises


def test_local_backend_contract(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    data = small_text_pdf()
    name = storage.new_stored_name(".pdf")
    storage.save_from_temp(_temp_with(storage, data), name)
    assert storage.local_path(name) == tmp_path / "media" / name[:2] / name
    with storage.open_local(name) as local:
        assert local.read_bytes() == data
    assert local.exists()  # the original itself, never a copy to delete
    assert b"".join(storage.stream(name)) == data
    assert _leftovers(storage.tmp_dir) == []
    storage.delete(name)
    with pytest.raises(StoredFileMissing), storage.open_local(name):
        pass
    with pytest.raises(StoredFileMissing):
        storage.stream(name)
    storage.check_ready()


def test_sweep_removes_only_old_worker_copies(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    old_copy = storage.new_temp_path(prefix="worker-", suffix=".pdf")
    new_copy = storage.new_temp_path(prefix="worker-", suffix=".pdf")
    upload = storage.new_temp_path()
    for path in (old_copy, new_copy, upload):
        path.write_bytes(b"x")
    os.utime(old_copy, (1, 1))
    os.utime(upload, (1, 1))  # an upload in progress is never swept
    assert storage.sweep_stale_temp(max_age_s=60) == 1
    assert sorted(_leftovers(storage.tmp_dir)) == sorted([new_copy, upload])


# --- settings select the backend ----------------------------------------------------------------


@pytest.fixture
def s3_settings(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, bucket: str) -> Iterator[str]:
    from tests.conftest import reset_cached_settings

    for key, value in {
        "STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_endpoint, "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "fake-secret-for-moto", "S3_PREFIX": "",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    reset_cached_settings()
    yield bucket
    monkeypatch.undo()
    reset_cached_settings()


def test_settings_select_the_backend(s3_settings: str) -> None:
    from fastapi_app.core.config import get_settings
    from fastapi_app.files.storage import get_storage

    storage = get_storage()
    assert isinstance(storage, S3Storage) and storage.bucket == s3_settings
    assert get_storage() is storage  # one boto3 client per process, not per call
    assert "fake-secret-for-moto" not in repr(get_settings()) + repr(storage)


def test_s3_needs_a_bucket_and_paired_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from fastapi_app.core.config import Settings

    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    with pytest.raises(ValidationError, match="S3_BUCKET"):
        Settings(S3_BUCKET="")
    with pytest.raises(ValidationError, match="S3_SECRET_ACCESS_KEY"):
        Settings(S3_BUCKET="b", S3_ACCESS_KEY_ID="key-only")
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    assert Settings().STORAGE_BACKEND == "local"


# --- the worker's read step on S3 ----------------------------------------------------------------


@pytest.fixture
def s3_pipeline_db(s3_settings: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from tests.conftest import reset_cached_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.sqlite3'}")
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "media"))
    reset_cached_settings()
    from init_db import upgrade_database

    upgrade_database()
    yield s3_settings


def _s3_document(content: bytes | None, extension: str = ".pdf") -> uuid.UUID:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.files.storage import get_storage
    from fastapi_app.models import Document, User

    storage = get_storage()
    name = storage.new_stored_name(extension)
    data = content or b""
    if content is not None:
        temp = storage.new_temp_path()
        temp.write_bytes(content)
        storage.save_from_temp(temp, name)
    with sync_session_factory().begin() as session:
        user = User(username=f"s3_{uuid.uuid4().hex[:8]}", email=f"{uuid.uuid4().hex[:8]}@example.com",
                    hashed_password="x")  # fmt: skip
        session.add(user)
        session.flush()
        document = Document(
            owner_id=user.id, original_filename=f"client{extension}", stored_name=name, file_type="pdf",
            mime_type="application/pdf", size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
        )  # fmt: skip
        session.add(document)
        session.flush()
        return document.id


def _worker_copies() -> list[Path]:
    from fastapi_app.files.storage import get_storage

    return _leftovers(get_storage().tmp_dir)


def test_pipeline_removes_its_copy_when_extraction_fails(s3_pipeline_db: str) -> None:
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = _s3_document(corrupt_pdf())
    outcome = DocumentPipeline(str(document_id), 1).execute()
    assert (outcome.status, outcome.detail) == ("failed", "CORRUPT_FILE")
    assert _worker_copies() == []


def test_pipeline_removes_its_copy_on_soft_time_limit(s3_pipeline_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    from fastapi_app.tasks import pipeline

    seen: list[Path] = []

    def too_slow(ctx: Any) -> Any:
        seen.append(ctx.path)
        assert ctx.path.is_file()  # the extractor really had a local copy
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(pipeline, "extract_content", too_slow)
    document_id = _s3_document(small_text_pdf())
    with pytest.raises(SoftTimeLimitExceeded):
        pipeline.DocumentPipeline(str(document_id), 1).execute()
    assert seen and not seen[0].exists()
    assert _worker_copies() == []


def test_pipeline_missing_object_is_file_missing(s3_pipeline_db: str) -> None:
    from fastapi_app.tasks.pipeline import DocumentPipeline

    document_id = _s3_document(None)
    outcome = DocumentPipeline(str(document_id), 1).execute()
    assert (outcome.status, outcome.detail) == ("failed", "FILE_MISSING")
    assert _worker_copies() == []
