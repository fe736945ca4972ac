"""Where uploaded originals live, chosen by STORAGE_BACKEND.

Both backends share one contract: the API receives a client's bytes into a local temp file first
(size limit, hash, type sniffing), then `save_from_temp` writes them under a generated name; the
worker reads through `open_local`, which yields a local path for the extractors; downloads use
`local_path` (served with sendfile) or `stream`. Temp files live under UPLOAD_DIR/.tmp on every
host, also with S3, where nothing else is written locally.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi_app.core.config import Settings, get_settings

logger = logging.getLogger("fastapi_app.storage")

# The worker's local copies carry this prefix so a sweep can tell them from in-flight uploads.
WORKER_COPY_PREFIX = "worker-"
UPLOAD_TEMP_PREFIX = "upload-"
STREAM_CHUNK_SIZE = 256 * 1024
# Multipart above this size: parts retry independently and a lost connection costs one part.
MULTIPART_THRESHOLD = 8 * 1024 * 1024


class StorageError(Exception):
    """The storage backend failed (unreachable, refused); distinct from a missing object."""


class StoredFileMissing(StorageError):
    def __init__(self, stored_name: str) -> None:
        super().__init__(f"stored file {stored_name!r} is missing")
        self.stored_name = stored_name


class StorageUnavailable(StorageError):
    pass


class StoredStream:
    """An opened stored file: its size and a chunk iterator that closes the source when done."""

    def __init__(self, chunks: Iterator[bytes], size: int | None, close: Any) -> None:
        self._chunks = chunks
        self.size = size
        self._close = close

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._close()


class Storage(ABC):
    """One place for originals. Names are always generated (`new_stored_name`), never the client's."""

    backend: str

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir

    def ensure_dirs(self) -> None:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_stored_name(extension: str) -> str:
        return f"{uuid.uuid4().hex}{extension}"

    def new_temp_path(self, prefix: str = UPLOAD_TEMP_PREFIX, suffix: str = ".part") -> Path:
        self.ensure_dirs()
        return self.tmp_dir / f"{prefix}{uuid.uuid4().hex}{suffix}"

    @abstractmethod
    def save_from_temp(self, temp_path: Path, stored_name: str) -> None:
        """Store a fully written temp file under `stored_name`; the temp file is consumed on success."""

    @abstractmethod
    def open_local(self, stored_name: str) -> contextlib.AbstractContextManager[Path]:
        """A local path to the stored bytes for the duration of the block; raises StoredFileMissing."""

    def local_path(self, stored_name: str) -> Path | None:
        """The file itself when it is on this host's filesystem (served with sendfile), else None."""
        return None

    @abstractmethod
    def stream(self, stored_name: str, chunk_size: int = STREAM_CHUNK_SIZE) -> StoredStream:
        """Open for download; raises StoredFileMissing before any byte is sent."""

    @abstractmethod
    def delete(self, stored_name: str) -> None:
        """Remove the stored file; a missing file is not an error."""

    @abstractmethod
    def exists(self, stored_name: str) -> bool: ...

    def delete_quietly(self, stored_name: str) -> None:
        """delete() for cleanup paths: a storage outage is logged, never raised over the real error."""
        try:
            self.delete(stored_name)
        except Exception:
            logger.warning("could not delete stored file %s; it is orphaned", stored_name, exc_info=True)

    def check_ready(self) -> None:
        """Raise when uploads cannot be received or stored. Temp space is needed by every backend."""
        self.ensure_dirs()
        probe = self.tmp_dir / f".ready-probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()

    def sweep_stale_temp(self, max_age_s: float, prefix: str = WORKER_COPY_PREFIX) -> int:
        """Remove temp files a killed process left behind (a hard time limit skips `finally`)."""
        if not self.tmp_dir.is_dir():
            return 0
        cutoff = time.time() - max_age_s
        removed = 0
        for path in self.tmp_dir.glob(f"{prefix}*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed


class LocalStorage(Storage):
    backend = "local"

    def __init__(self, root: Path) -> None:
        super().__init__(root / ".tmp")
        self.root = root

    def path_for(self, stored_name: str) -> Path:
        # Two-level fan-out keeps directories small with millions of files.
        return self.root / stored_name[:2] / stored_name

    def commit_temp(self, temp_path: Path, stored_name: str) -> Path:
        """Move a fully written temp file into place; rename is atomic on one filesystem."""
        final = self.path_for(stored_name)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp_path, final)
        return final

    def save_from_temp(self, temp_path: Path, stored_name: str) -> None:
        self.commit_temp(temp_path, stored_name)

    @contextlib.contextmanager
    def open_local(self, stored_name: str) -> Iterator[Path]:
        path = self.path_for(stored_name)
        if not path.is_file():
            raise StoredFileMissing(stored_name)
        yield path

    def local_path(self, stored_name: str) -> Path | None:
        return self.path_for(stored_name)

    def stream(self, stored_name: str, chunk_size: int = STREAM_CHUNK_SIZE) -> StoredStream:
        try:
            fh = self.path_for(stored_name).open("rb")
        except FileNotFoundError:
            raise StoredFileMissing(stored_name) from None
        size = os.fstat(fh.fileno()).st_size
        return StoredStream(iter(lambda: fh.read(chunk_size), b""), size, fh.close)

    def delete(self, stored_name: str) -> None:
        self.path_for(stored_name).unlink(missing_ok=True)

    def exists(self, stored_name: str) -> bool:
        return self.path_for(stored_name).is_file()


_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3Storage(Storage):
    """Any S3-compatible service (AWS, MinIO, Ceph, R2...): workers on other hosts read the same objects."""

    backend = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        tmp_dir: Path,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        probe_timeout_s: float = 3.0,
    ) -> None:
        super().__init__(tmp_dir)
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or None
        self.region = region or None
        self._access_key_id = access_key_id or None
        self._secret_access_key = secret_access_key or None
        self._probe_timeout_s = probe_timeout_s
        self._clients: dict[str, Any] = {}

    def __repr__(self) -> str:  # never the credentials
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})"

    def key_for(self, stored_name: str) -> str:
        return f"{self.prefix}{stored_name}"

    # boto3 costs ~100 ms to import and a client per call would repeat credential discovery.
    def _client(self, kind: str = "default") -> Any:
        client = self._clients.get(kind)
        if client is not None:
            return client
        import boto3
        from botocore.config import Config

        if kind == "probe":
            # The readiness check must answer within its own timeout, not after boto's retries.
            timeout = self._probe_timeout_s
            config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1})
        else:
            config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 5, "mode": "standard"})
        if self.endpoint_url:
            # Self-hosted endpoints (MinIO, an IP address) rarely have wildcard DNS for virtual hosts.
            config = config.merge(Config(s3={"addressing_style": "path"}))
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self._access_key_id,
            aws_secret_access_key=self._secret_access_key,
            config=config,
        )
        self._clients[kind] = client
        return client

    @staticmethod
    def _transfer_config() -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD, max_concurrency=4
        )

    def save_from_temp(self, temp_path: Path, stored_name: str) -> None:
        # upload_file switches to multipart above the threshold and aborts the multipart upload on failure.
        try:
            self._client().upload_file(
                str(temp_path), self.bucket, self.key_for(stored_name), Config=self._transfer_config()
            )
        except Exception as exc:
            raise StorageError(f"upload of {stored_name!r} failed: {type(exc).__name__}") from exc
        # Consumed, as with the local rename: nothing of a stored upload stays in temp space.
        temp_path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def open_local(self, stored_name: str) -> Iterator[Path]:
        # Keep the extension: extractors tell CSV from TSV and the like by the suffix.
        local = self.new_temp_path(prefix=WORKER_COPY_PREFIX, suffix=Path(stored_name).suffix)
        try:
            try:
                self._client().download_file(
                    self.bucket, self.key_for(stored_name), str(local), Config=self._transfer_config()
                )
            except Exception as exc:
                if _error_code(exc) in _MISSING_CODES:
                    raise StoredFileMissing(stored_name) from None
                raise StorageError(f"download of {stored_name!r} failed: {type(exc).__name__}") from exc
            yield local
        finally:
            local.unlink(missing_ok=True)

    def stream(self, stored_name: str, chunk_size: int = STREAM_CHUNK_SIZE) -> StoredStream:
        try:
            response = self._client().get_object(Bucket=self.bucket, Key=self.key_for(stored_name))
        except Exception as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise StoredFileMissing(stored_name) from None
            raise StorageError(f"download of {stored_name!r} failed: {type(exc).__name__}") from exc
        body = response["Body"]
        return StoredStream(body.iter_chunks(chunk_size), response.get("ContentLength"), body.close)

    def delete(self, stored_name: str) -> None:
        self._client().delete_object(Bucket=self.bucket, Key=self.key_for(stored_name))

    def exists(self, stored_name: str) -> bool:
        try:
            self._client().head_object(Bucket=self.bucket, Key=self.key_for(stored_name))
        except Exception as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise
        return True

    def check_ready(self) -> None:
        super().check_ready()
        try:
            self._client("probe").head_bucket(Bucket=self.bucket)
        except Exception as exc:
            reason = _error_code(exc) or type(exc).__name__
            raise StorageUnavailable(f"bucket {self.bucket!r} is not reachable: {reason}") from None


def sweep_abandoned_uploads(settings: Settings | None = None) -> int:
    """Remove `upload-*` temp files older than UPLOAD_TEMP_MAX_AGE_MINUTES: the API removes its temp file
    in a `finally`, which a killed process (kill -9, OOM, a crash) never runs. An upload in progress
    rewrites its file at least every UPLOAD_CHUNK_SIZE bytes, so its age stays near zero. Never raises:
    housekeeping must not stop the API from starting or the recovery sweep from running."""
    settings = settings or get_settings()
    try:
        removed = get_storage().sweep_stale_temp(settings.UPLOAD_TEMP_MAX_AGE_MINUTES * 60, prefix=UPLOAD_TEMP_PREFIX)
    except Exception:
        logger.warning("upload temp sweep failed", exc_info=True)
        return 0
    if removed:
        logger.warning("removed %d abandoned upload temp files", removed)
    return removed


def storage_from_settings(settings: Settings) -> Storage:
    if settings.STORAGE_BACKEND == "s3":
        return S3Storage(
            bucket=settings.S3_BUCKET,
            tmp_dir=settings.UPLOAD_DIR / ".tmp",
            prefix=settings.S3_PREFIX,
            endpoint_url=settings.S3_ENDPOINT_URL,
            region=settings.S3_REGION,
            access_key_id=settings.S3_ACCESS_KEY_ID,
            secret_access_key=settings.S3_SECRET_ACCESS_KEY.get_secret_value(),
        )
    return LocalStorage(settings.UPLOAD_DIR)


_cached: tuple[Settings, int, Storage] | None = None


def get_storage() -> Storage:
    """The configured backend, reused while the settings object is (tests swap it) in this process:
    boto3 clients hold sockets that must not be shared across a fork."""
    global _cached
    settings, pid = get_settings(), os.getpid()
    if _cached is None or _cached[0] is not settings or _cached[1] != pid:
        _cached = (settings, pid, storage_from_settings(settings))
    return _cached[2]
