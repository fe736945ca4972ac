"""The streaming multipart receiver: exact size limits, hashing, fields, malformed bodies."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from starlette.requests import Request

from fastapi_app.api.uploads import receive_multipart_upload
from fastapi_app.core.errors import BadRequest, FileTooLarge, TooManyParts, ValidationFailed

BOUNDARY = "b0undary"


def _body(content: bytes, filename: str = "a.pdf", **fields: str) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _request(body: bytes, chunk: int = 7000, content_type: str | None = None) -> Request:
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]

    async def receive():  # type: ignore[no-untyped-def]
        data = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": data, "more_body": bool(chunks)}

    headers = [(b"content-type", (content_type or f"multipart/form-data; boundary={BOUNDARY}").encode())]
    return Request({"type": "http", "method": "POST", "headers": headers, "path": "/"}, receive)


async def test_streams_to_disk_with_hash_and_fields(tmp_path: Path) -> None:
    content = bytes(range(256)) * 1000
    target = tmp_path / "part"
    upload = await receive_multipart_upload(
        _request(_body(content, "견적서.pdf", file_type="pdf", password="pw")), target, max_size=10**6, flush_bytes=4096
    )
    assert target.read_bytes() == content
    assert upload.size == len(content) and upload.sha256 == hashlib.sha256(content).hexdigest()
    assert upload.filename == "견적서.pdf"
    assert upload.fields == {"file_type": "pdf", "password": "pw"}


async def test_limit_is_exact(tmp_path: Path) -> None:
    limit = 50_000
    ok = await receive_multipart_upload(
        _request(_body(b"x" * limit)), tmp_path / "ok", max_size=limit, flush_bytes=1024
    )
    assert ok.size == limit
    with pytest.raises(FileTooLarge):
        await receive_multipart_upload(
            _request(_body(b"x" * (limit + 1))), tmp_path / "big", max_size=limit, flush_bytes=1024
        )


async def test_bad_bodies(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed):
        await receive_multipart_upload(
            _request(b"{}", content_type="application/json"), tmp_path / "a", max_size=100, flush_bytes=10
        )
    no_file = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--{BOUNDARY}--\r\n'.encode()
    with pytest.raises(ValidationFailed):
        await receive_multipart_upload(_request(no_file), tmp_path / "b", max_size=100, flush_bytes=10)
    with pytest.raises(BadRequest):
        await receive_multipart_upload(_request(b"--wrong\r\ngarbage"), tmp_path / "c", max_size=100, flush_bytes=10)
    with pytest.raises(ValidationFailed):
        await receive_multipart_upload(
            _request(_body(b"x", password="p" * 5000)), tmp_path / "d", max_size=100, flush_bytes=10
        )


async def test_whole_body_and_part_count_are_capped_without_content_length(tmp_path: Path) -> None:
    # No content-length header in these requests: the counts are made as the bytes arrive.
    epilogue = _body(b"x" * 100) + b"e" * 5000
    with pytest.raises(FileTooLarge) as too_large:
        await receive_multipart_upload(
            _request(epilogue, chunk=512), tmp_path / "a", max_size=1000, flush_bytes=10, max_overhead=4096
        )
    assert too_large.value.details == {"max_upload_size": 1000, "max_body_size": 5096}
    fields = {f"f{n}": "x" for n in range(4)}
    with pytest.raises(TooManyParts) as too_many:
        await receive_multipart_upload(
            _request(_body(b"x", **fields)), tmp_path / "b", max_size=100, flush_bytes=10, max_parts=4
        )
    assert too_many.value.status_code == 413 and too_many.value.details == {"max_parts": 4}
    ok = await receive_multipart_upload(
        _request(_body(b"x", **fields)), tmp_path / "c", max_size=100, flush_bytes=10, max_parts=5
    )
    assert len(ok.fields) == 4
