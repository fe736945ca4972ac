"""Stream a multipart upload straight to a temp file: bounded memory, size enforced as bytes
arrive, sha256 computed on the way. Nothing is read into memory whole.

Every limit holds with or without Content-Length (a chunked body declares none): the file's size,
the whole body's (the file plus `max_overhead` for framing and form fields, which also bounds what the
parser skips after the closing boundary), the number of parts and each field's length. python-multipart
bounds each part's headers (count and line length) itself. The bytes go through
fastapi_app/files/uploads.FileSink (temp file and sha256).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from fastapi_app.core.errors import BadRequest, FileTooLarge, TooManyParts, ValidationFailed
from fastapi_app.files.uploads import FileSink, ReceivedUpload

FILE_FIELD = "file"
MAX_FIELD_BYTES = 4096


class _TooLarge(Exception):
    pass


class _TooManyParts(Exception):
    pass


class _Receiver:
    def __init__(self, temp_path: Path, max_size: int, max_parts: int) -> None:
        self.upload = ReceivedUpload(temp_path=temp_path)
        self.max_size = max_size
        self.max_parts = max_parts
        self.parts = 0
        self.pending: list[bytes] = []
        self.pending_size = 0
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._part_name: str | None = None
        self._part_is_file = False
        self._field_value = bytearray()
        self._file_done = False

    # --- callbacks (sync, called from parser.write) -----------------------------------------
    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.max_parts:
            raise _TooManyParts()
        self._headers = {}
        self._part_name = None
        self._part_is_file = False
        self._field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._part_name = name
        filename = options.get(b"filename")
        if name == FILE_FIELD and filename is not None and not self._file_done:
            self._part_is_file = True
            self.upload.filename = filename.decode("utf-8", "replace")
            self.upload.has_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part_is_file:
            self.upload.size += len(chunk)
            if self.upload.size > self.max_size:
                raise _TooLarge()
            self.pending.append(chunk)
            self.pending_size += len(chunk)
        elif self._part_name is not None:
            self._field_value += chunk
            if len(self._field_value) > MAX_FIELD_BYTES:
                raise ValidationFailed(f"Form field '{self._part_name}' is too long.")

    def on_part_end(self) -> None:
        if self._part_is_file:
            self._file_done = True
            self._part_is_file = False
        elif self._part_name and self._part_name not in self.upload.fields:
            self.upload.fields[self._part_name] = self._field_value.decode("utf-8", "replace")

    def take_pending(self) -> list[bytes]:
        chunks, self.pending, self.pending_size = self.pending, [], 0
        return chunks

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }


async def receive_multipart_upload(
    request: Request,
    temp_path: Path,
    *,
    max_size: int,
    flush_bytes: int,
    max_overhead: int = 64 * 1024,
    max_parts: int = 16,
) -> ReceivedUpload:
    """Parse the request body; the caller owns (and must delete) `temp_path` on any outcome.

    `max_size` bounds the file, `max_size + max_overhead` the whole body, `max_parts` the parts."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not params.get(b"boundary"):
        raise ValidationFailed(
            "Send the file as multipart/form-data with a 'file' field.",
            details={"content_type": request.headers.get("content-type")},
        )
    max_body = max_size + max_overhead
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise FileTooLarge(details={"max_upload_size": max_size, "content_length": int(declared)})

    receiver = _Receiver(temp_path, max_size, max_parts)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    sink = FileSink(temp_path)
    body_bytes = 0
    try:
        async for chunk in request.stream():
            # Counted here, not trusted from Content-Length: a chunked body declares no length.
            body_bytes += len(chunk)
            if body_bytes > max_body:
                raise FileTooLarge(
                    f"The request body is larger than the upload limit of {max_size} bytes "
                    f"plus {max_overhead} bytes for the form.",
                    details={"max_upload_size": max_size, "max_body_size": max_body},
                )
            parser.write(chunk)
            if receiver.pending_size >= flush_bytes:
                await anyio.to_thread.run_sync(sink.write, receiver.take_pending())
        parser.finalize()
        # The rest, the flush and the fsync in one trip to a thread: the 202 promises the bytes are on disk.
        await anyio.to_thread.run_sync(sink.finish, receiver.take_pending())
    except _TooLarge:
        raise FileTooLarge(
            f"The file is larger than the upload limit of {max_size} bytes.",
            details={"max_upload_size": max_size},
        ) from None
    except _TooManyParts:
        raise TooManyParts(f"The form has more than {max_parts} parts.", details={"max_parts": max_parts}) from None
    except MultipartParseError as exc:
        raise BadRequest("The multipart body is malformed.", error_code="MALFORMED_MULTIPART") from exc
    except ClientDisconnect:
        raise BadRequest(
            "The client disconnected before the upload finished.", error_code="UPLOAD_INCOMPLETE"
        ) from None
    finally:
        if sink.is_open:  # only after a failure: finish() closes
            await anyio.to_thread.run_sync(sink.close)

    upload = receiver.upload
    upload.sha256 = sink.hasher.hexdigest()
    if not upload.has_file:
        raise ValidationFailed(
            "The 'file' field is required.",
            details={"errors": [{"loc": ["body", FILE_FIELD], "msg": "Field required", "type": "missing"}]},
        )
    return upload
