"""Stream a multipart upload straight to a temp file: bounded memory, size enforced as bytes
arrive, sha256 computed on the way. Nothing is read into memory whole.

Every limit holds with or without Content-Length (a chunked body declares none): the file's size,
the whole body's (the file plus `max_overhead` for framing and form fields, which also bounds what the
parser skips after the closing boundary), the number of parts and each field's length. python-multipart
bounds each part's headers (count and line length) itself. The bytes go through
fastapi_app/files/uploads.FileSink (temp file and sha256).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from fastapi_app.core.errors import BadRequest, BatchTooManyFiles, FileTooLarge, TooManyParts, ValidationFailed
from fastapi_app.files.uploads import FileSink, ReceivedBatch, ReceivedUpload

FILE_FIELD = "file"
BATCH_FILES_FIELD = "files"
BATCH_ARCHIVE_FIELD = "archive"
MAX_FIELD_BYTES = 4096


class _TooLarge(Exception):
    pass


class _TooManyParts(Exception):
    pass


class _TooManyFiles(Exception):
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


class _BatchReceiver(_Receiver):
    """The batch form: each `files` part (or the one `archive` part) into a temp file of its own. A file
    past `max_size` is marked over the limit and its bytes dropped: the rest of the batch goes on."""

    def __init__(
        self, batch: ReceivedBatch, new_temp_path: Callable[[], Path], max_size: int, max_parts: int, max_files: int
    ) -> None:
        super().__init__(new_temp_path(), max_size, max_parts)
        self.batch = batch
        self.new_temp_path = new_temp_path
        self.max_files = max_files
        self._current: tuple[ReceivedUpload, FileSink] | None = None
        # Sink operations in arrival order: (sink, chunks, finish); done off the event loop.
        self.operations: list[tuple[FileSink, list[bytes], bool]] = []
        self.received: list[tuple[ReceivedUpload, FileSink]] = []
        self.max_archive_size = max_size

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._part_name = name
        filename = options.get(b"filename")
        self._current = None
        if filename is None or name not in (BATCH_FILES_FIELD, BATCH_ARCHIVE_FIELD):
            return
        upload = ReceivedUpload(temp_path=self.new_temp_path(), filename=filename.decode("utf-8", "replace"))
        upload.has_file = True
        if name == BATCH_ARCHIVE_FIELD:
            if self.batch.archive is not None:
                raise ValidationFailed("Send one 'archive' per batch.")
            self.batch.archive = upload
        else:
            self.batch.files.append(upload)
            if len(self.batch.files) > self.max_files:
                raise _TooManyFiles()
        sink = FileSink(upload.temp_path)
        self.received.append((upload, sink))
        self._current = (upload, sink)
        self._part_is_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current is None:
            if self._part_name is not None:
                super().on_part_data(data, start, end)
            return
        upload, sink = self._current
        chunk = data[start:end]
        upload.size += len(chunk)
        if upload.size > (self.max_archive_size if upload is self.batch.archive else self.max_size):
            upload.over_limit = True
            return
        self.operations.append((sink, [chunk], False))
        self.pending_size += len(chunk)

    def on_part_end(self) -> None:
        if self._current is not None:
            self.operations.append((self._current[1], [], True))
            self._current = None
            self._part_is_file = False
        elif self._part_name and self._part_name not in self.batch.fields:
            self.batch.fields[self._part_name] = self._field_value.decode("utf-8", "replace")

    def take_operations(self) -> list[tuple[FileSink, list[bytes], bool]]:
        operations, self.operations, self.pending_size = self.operations, [], 0
        return operations


def _run_sink_operations(operations: list[tuple[FileSink, list[bytes], bool]]) -> None:
    for sink, chunks, finish in operations:
        if finish:
            sink.finish(chunks)
        else:
            sink.write(chunks)


async def receive_multipart_batch(
    request: Request,
    batch: ReceivedBatch,
    new_temp_path: Callable[[], Path],
    *,
    max_file_size: int,
    max_total_size: int,
    max_files: int,
    flush_bytes: int,
    max_overhead: int = 64 * 1024,
) -> ReceivedBatch:
    """Parse a batch body into `batch`: repeated `files` parts, or one `archive` (a ZIP). The caller owns
    (and must delete) every temp path in `batch` on any outcome. The whole body is held to
    `max_total_size + max_overhead`; each file to `max_file_size` (marked `over_limit`, not refused)."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not params.get(b"boundary"):
        raise ValidationFailed(
            "Send the batch as multipart/form-data with repeated 'files' fields or one 'archive' field.",
            details={"content_type": request.headers.get("content-type")},
        )
    # Per file: its part's headers and boundary; the form fields share max_overhead.
    max_body = max_total_size + max_overhead + max_files * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise FileTooLarge(
            f"The batch is larger than the limit of {max_total_size} bytes.",
            details={"max_batch_size": max_total_size, "content_length": int(declared)},
        )
    receiver = _BatchReceiver(batch, new_temp_path, max_file_size, max_files + 16, max_files)
    receiver.max_archive_size = max_total_size  # the archive may be as large as the whole batch
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    body_bytes = 0
    try:
        async for chunk in request.stream():
            body_bytes += len(chunk)
            if body_bytes > max_body:
                raise FileTooLarge(
                    f"The batch is larger than the limit of {max_total_size} bytes.",
                    details={"max_batch_size": max_total_size},
                )
            parser.write(chunk)
            if receiver.pending_size >= flush_bytes:
                await anyio.to_thread.run_sync(_run_sink_operations, receiver.take_operations())
        parser.finalize()
        await anyio.to_thread.run_sync(_run_sink_operations, receiver.take_operations())
    except _TooManyFiles:
        raise BatchTooManyFiles(f"A batch holds at most {max_files} files.", details={"max_files": max_files}) from None
    except _TooManyParts:
        raise TooManyParts(f"The form has more than {max_files + 16} parts.") from None
    except MultipartParseError as exc:
        raise BadRequest("The multipart body is malformed.", error_code="MALFORMED_MULTIPART") from exc
    except ClientDisconnect:
        raise BadRequest(
            "The client disconnected before the upload finished.", error_code="UPLOAD_INCOMPLETE"
        ) from None
    finally:
        receiver.upload.temp_path.unlink(missing_ok=True)  # the base receiver's own path, never written
        open_sinks = [sink for _, sink in receiver.received if sink.is_open]
        if open_sinks:  # only after a failure: finish() closes
            await anyio.to_thread.run_sync(lambda: [sink.close() for sink in open_sinks])
    for upload, sink in receiver.received:
        upload.sha256 = sink.hasher.hexdigest()
    if batch.archive is not None and batch.files:
        raise ValidationFailed("Send either 'files' or one 'archive', not both.")
    if batch.archive is None and not batch.files:
        raise ValidationFailed(
            "The batch has no file: send repeated 'files' fields or one 'archive' field.",
            details={"errors": [{"loc": ["body", BATCH_FILES_FIELD], "msg": "Field required", "type": "missing"}]},
        )
    if batch.archive is not None and batch.archive.over_limit:
        raise FileTooLarge(
            f"The archive is larger than the limit of {max_total_size} bytes.",
            details={"max_batch_size": max_total_size},
        )
    return batch
