"""Log files an operator can read: app.log (daily), error.log (10 MB), access.log, celery.log.

Every line carries the request id, so the API line and the worker lines of one upload join up.

One record is one line: text that users control (paths, file names, exception messages quoting
them) can carry CR, LF and other characters that end or rewrite a line, which would let a caller
write a line of their choosing. The formatters escape them (`escape_controls`); a traceback keeps
its own line breaks, but each of its lines is prefixed with CONTINUATION, so a line that starts
at column 0 is always the start of a record.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import re
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi_app.core.config import Settings

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

ACCESS_LOGGER = "fastapi_app.access"
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s [%(request_id)s] %(message)s"
# Never let a secret reach a log line, whatever a library decides to print.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+\.?[A-Za-z0-9\-_.+/=]*"),
    re.compile(r'(?i)("?(?:password|refresh_token|access_token|secret|token)"?\s*[:=]\s*)"?[^\s",&]+'),
)


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


# C0, DEL, C1 (NEL among them), the Unicode line and paragraph separators (str.splitlines and many
# viewers break lines there), the bidirectional embeddings, overrides and isolates (they reorder what
# an operator sees) and lone surrogates (they cannot be written as UTF-8: the whole line would be lost).
_OTHER_CONTROLS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL = re.compile(f"[\x00-\x1f{_OTHER_CONTROLS}]")
_CONTROL_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHER_CONTROLS}]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Starts every line of a traceback or stack in a plain-text log: never a record's first line.
CONTINUATION = "  | "


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` on one line: every character that could end, hide or reorder a line written as an
    escape (\\n, \\r, \\t, \\xHH, \\uHHHH)."""
    if text.isascii() and text.isprintable():  # the common case, checked in C without the regex
        return text
    return _CONTROL.sub(_escape_char, text)


def continuation_lines(block: str) -> str:
    """A multi-line block of our own (a traceback): its line breaks kept, every other control
    character escaped, each line prefixed with CONTINUATION. A newline inside an exception's message
    (which may quote user text) therefore cannot start what looks like a new record."""
    lines = _CONTROL_BUT_NEWLINE.sub(_escape_char, block.rstrip("\n")).split("\n")
    return "\n".join(CONTINUATION + line for line in lines)


class InQuotes:
    """A value users control (a path, a file name) for a double-quoted field of a log line: backslash
    and double quote are escaped, so the field always ends at its closing quote (control characters
    are escaped by the formatter, for the whole line). Rendered when the line is formatted, which for
    access lines is on the writer thread, not the event loop."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        text = str(self.value)
        if "\\" in text or '"' in text:
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        return text


class Bare:
    """A value users may influence (a client address taken from a proxy header) for an unquoted,
    space-separated field: whitespace, quotes and backslash escaped as \\xHH, so it stays one field."""

    __slots__ = ("value",)
    _SEPARATORS = re.compile(r'[\s"\\]')

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        text = str(self.value) or "-"
        if text.isascii() and text.isprintable() and " " not in text and '"' not in text and "\\" not in text:
            return text
        return self._SEPARATORS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class ForeignLineFilter(logging.Filter):
    """For the loggers of the servers around us (uvicorn, gunicorn), which print through their own
    handlers and formatters, not ours: the record's message is redacted and escaped, its traceback
    pre-formatted as continuation lines, before their formatter sees it. (uvicorn's WebSocket line
    carries the query string, `?token=<JWT>` included.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: left for the handler's own error reporting
            return True
        record.msg = escape_controls(redact(message))
        record.args = None
        # uvicorn's coloured variant of the message would print the raw text (on a terminal).
        record.__dict__.pop("color_message", None)
        if record.exc_info and not record.exc_text:
            record.exc_text = continuation_lines(redact(logging.Formatter().formatException(record.exc_info)))
        return True


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RedactingFormatter(logging.Formatter):
    """Plain-text lines: secrets redacted, then control characters escaped. The record's own line
    (time, logger, request id, message) is one line whatever the message holds; a traceback or stack
    follows as continuation lines. (Written out instead of using Formatter.format, whose cached
    `exc_text` may come from another formatter and would be appended as is.)"""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = escape_controls(redact(self.formatMessage(record)))
        blocks = []
        if record.exc_info:
            blocks.append(self.formatException(record.exc_info))
        elif record.exc_text:
            blocks.append(record.exc_text)
        if record.stack_info:
            blocks.append(self.formatStack(record.stack_info))
        for block in blocks:
            line += "\n" + continuation_lines(redact(block))
        return line


def escape_json_line(line: str) -> str:
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", line) if _CONTROL.search(line) else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "request_id": getattr(record, "request_id", "-"),
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        # json escapes C0 controls only; DEL, C1, U+2028/2029 (line breaks to str.splitlines and to
        # many log shippers) and the rest go out as \\uHHHH too: the same JSON value, on one line.
        return escape_json_line(json.dumps(payload, ensure_ascii=False))


class AccessFormatter(logging.Formatter):
    """ISO 8601 UTC with milliseconds, control characters escaped; runs on the access log's writer
    thread, not the event loop."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))


def _formatter(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.LOG_FORMAT == "json" else RedactingFormatter(TEXT_FORMAT)


def _file_handler(handler: logging.Handler, settings: Settings, level: int | str = logging.NOTSET) -> logging.Handler:
    handler.setFormatter(_formatter(settings))
    handler.addFilter(ContextFilter())
    handler.setLevel(level)
    return handler


class AccessFileHandler(logging.handlers.TimedRotatingFileHandler):
    """The access log file, rotated at midnight: written by BatchingHandler, flushed once per batch
    instead of once per line (a write system call per request otherwise)."""

    def flush(self) -> None:
        pass  # called by emit() for every record; closing and rotating still flush the file itself

    def flush_batch(self) -> None:
        super().flush()


class BatchingHandler(logging.Handler):
    """Access lines, written in batches by a background thread every `interval` seconds.

    One line per request was first written on the event loop (a file write per request: ~9 % of the
    loop's time on /health), then through a QueueHandler to a listener thread. That still woke the
    thread for every request, and the hand-offs of the GIL between the two threads cost the hottest
    read a fifth of its CPU time (measured: 0.44 ms per request with it, 0.35 without any access log).
    Here the request only appends the record to a list; the writer wakes a few times a second, formats
    and writes what accumulated. If the disk stalls, at most `capacity` records wait; the rest are
    counted and the count is logged, never silently lost."""

    def __init__(self, target: AccessFileHandler, *, interval: float = 0.2, capacity: int = 100_000) -> None:
        super().__init__()
        self.target = target
        self.interval = interval
        self.capacity = capacity
        self._pending: list[logging.LogRecord] = []
        self._dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-log-writer", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        if len(self._pending) < self.capacity:
            self._pending.append(record)  # atomic under the GIL; the writer swaps the list, never copies it
        else:
            self._dropped += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.drain()
        self.drain()

    def drain(self) -> None:
        # Records appended after the swap land in the new list; those before it are all in `batch`.
        batch, self._pending = self._pending, []
        dropped, self._dropped = self._dropped, 0
        for record in batch:
            self.target.handle(record)
        if dropped:
            self.target.handle(
                logging.makeLogRecord(
                    {"name": ACCESS_LOGGER, "levelno": logging.WARNING, "levelname": "WARNING",
                     "msg": "%d access lines dropped: the log writer fell behind", "args": (dropped,)}
                )
            )  # fmt: skip
        self.target.flush_batch()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.target.close()
        super().close()


_access_handler: BatchingHandler | None = None


def _stop_access_writer() -> None:
    # Writes what is pending: the last requests' lines reach the file on reconfiguration and at exit.
    global _access_handler
    if _access_handler is not None:
        _access_handler.close()
        _access_handler = None


atexit.register(_stop_access_writer)


def configure_logging(settings: Settings, *, process: str = "api") -> None:
    """Idempotent: safe to call from the API, each Celery child and scripts."""
    global _access_handler
    log_dir: Path = settings.LOG_DIR
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if getattr(root, "_fastapi_app_configured", None) == process:
        return
    for handler in list(root.handlers):
        if getattr(handler, "_fastapi_app", False):
            root.removeHandler(handler)
    root.setLevel(settings.LOG_LEVEL)

    handlers: list[logging.Handler] = [
        _file_handler(
            logging.handlers.TimedRotatingFileHandler(
                log_dir / ("celery.log" if process == "worker" else "app.log"),
                when="midnight",
                backupCount=settings.LOG_RETENTION_DAYS,
                encoding="utf-8",
                delay=True,
            ),
            settings,
        ),
        _file_handler(
            logging.handlers.RotatingFileHandler(
                log_dir / "error.log", maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8", delay=True
            ),
            settings,
            logging.ERROR,
        ),
        _file_handler(logging.StreamHandler(), settings),
    ]
    for handler in handlers:
        handler._fastapi_app = True  # type: ignore[attr-defined]
        root.addHandler(handler)

    access = logging.getLogger(ACCESS_LOGGER)
    access.propagate = False
    access.setLevel(logging.INFO)
    for handler in list(access.handlers):
        access.removeHandler(handler)
    _stop_access_writer()
    if process == "api":
        access_handler = AccessFileHandler(
            log_dir / "access.log",
            when="midnight",
            backupCount=settings.LOG_RETENTION_DAYS,
            encoding="utf-8",
            delay=True,
        )
        access_handler.setFormatter(AccessFormatter("%(asctime)s %(message)s"))
        _access_handler = BatchingHandler(access_handler)
        access.addHandler(_access_handler)
    # uvicorn's own access lines would duplicate ours.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn.error", "gunicorn.error"):
        server_logger = logging.getLogger(name)
        if not any(isinstance(f, ForeignLineFilter) for f in server_logger.filters):
            server_logger.addFilter(ForeignLineFilter())
    root._fastapi_app_configured = process  # type: ignore[attr-defined]
