"""Log injection: whatever a caller puts in a path, a file name or an exception message, one log
record is one line in the plain-text logs (app, error, celery, access) and valid JSON in JSON logs."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from fastapi_app.core.logging import (
    CONTINUATION,
    TEXT_FORMAT,
    AccessFormatter,
    Bare,
    InQuotes,
    JsonFormatter,
    RedactingFormatter,
)
from fastapi_app.core.middleware import ACCESS_LINE

# Everything that ends, hides or reorders a line somewhere: CR, LF, the other C0 controls, DEL,
# C1 (NEL), the Unicode line/paragraph separators, a bidi override and a lone surrogate.
HOSTILE = "a\r\nFORGED 2026-01-01 INFO root [-] admin logged in\x00\x1b[31m\x7f\x85\u2028\u2029\u202e\t\ud800z"
ESCAPED = (
    "a\\r\\nFORGED 2026-01-01 INFO root [-] admin logged in\\x00\\x1b[31m\\x7f\\x85\\u2028\\u2029\\u202e\\t\\ud800z"
)
LINE_START = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _record(msg: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    record = logging.LogRecord("fastapi_app.test", logging.ERROR, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]
    record.request_id = "rid-1"
    return record


def _physical_lines(text: str) -> list[str]:
    # What any reader may treat as a line break: str.splitlines knows them all (\v, \f, \x1c-\x1e, NEL...).
    return text.splitlines()


def test_a_message_with_user_text_is_one_escaped_line() -> None:
    line = RedactingFormatter(TEXT_FORMAT).format(_record("upload %s refused", HOSTILE))
    assert _physical_lines(line) == [line]
    assert line.endswith(f"ERROR [{_record('x').process}] fastapi_app.test [rid-1] upload {ESCAPED} refused")
    line.encode("utf-8")  # a lone surrogate, escaped, no longer loses the whole line


def test_secrets_are_still_redacted_next_to_escaped_text() -> None:
    line = RedactingFormatter(TEXT_FORMAT).format(_record("login password=hunter2\nFORGED"))
    assert "hunter2" not in line and line.endswith("login password=***\\nFORGED")


def _raise_with(message: str) -> object:
    try:
        raise ValueError(message)
    except ValueError:
        return sys.exc_info()


def test_a_traceback_keeps_its_lines_but_none_can_pass_for_a_record() -> None:
    """Our traceback's own line breaks stay (a traceback on one line is unreadable); every line of it
    starts with CONTINUATION, so the user text inside the exception message cannot start a record."""
    text = RedactingFormatter(TEXT_FORMAT).format(
        _record("unhandled error on %s", HOSTILE, exc_info=_raise_with(HOSTILE))
    )
    first, *rest = text.split("\n")
    assert first.endswith(f"unhandled error on {ESCAPED}")
    assert rest[0] == CONTINUATION + "Traceback (most recent call last):"
    assert any(line.startswith(CONTINUATION + '  File "') for line in rest)
    assert rest[-2:] == [CONTINUATION + "ValueError: a\\r", CONTINUATION + ESCAPED.split("\\n", 1)[1]]
    assert all(line.startswith(CONTINUATION) for line in rest)
    # Exactly one line that looks like the start of a record, and every physical line is one of ours.
    assert [line for line in text.split("\n") if LINE_START.match(line)] == [first]
    assert _physical_lines(text) == text.split("\n")


def test_a_stack_is_continuation_lines_too() -> None:
    record = _record("where am I")
    record.stack_info = 'Stack (most recent call last):\n  File "x.py", line 1, in f\n    g()\u2028FORGED'
    text = RedactingFormatter(TEXT_FORMAT).format(record)
    assert text.split("\n")[1:] == [
        CONTINUATION + "Stack (most recent call last):",
        CONTINUATION + '  File "x.py", line 1, in f',
        CONTINUATION + "    g()\\u2028FORGED",
    ]


def test_json_lines_stay_one_line_of_valid_json_with_the_exact_text() -> None:
    line = JsonFormatter().format(_record("upload %s refused", HOSTILE, exc_info=_raise_with("x\ny")))
    assert _physical_lines(line) == [line]
    payload = json.loads(line)
    assert payload["message"] == f"upload {HOSTILE} refused"
    line.encode("utf-8")
    assert payload["exception"].endswith("ValueError: x\ny")
    assert payload["request_id"] == "rid-1"


@pytest.mark.parametrize(
    "path",
    [
        '/x\r\nFORGED 127.0.0.1 "GET /admin" 200 0 - 0.01',
        '/a"b\\"c',
        "/\u2028\x85\x1b]0;title\x07",
        "/한글 파일.pdf",
    ],
)
def test_access_line_quotes_the_path_and_stays_one_line(path: str) -> None:
    record = logging.LogRecord(
        "fastapi_app.access", logging.INFO, __file__, 0, ACCESS_LINE,
        (Bare("10.0.0.1"), "GET", InQuotes(path), 404, 12, "rid-2", 1.5), None,
    )  # fmt: skip
    line = AccessFormatter("%(asctime)s %(message)s").format(record)
    assert _physical_lines(line) == [line]
    match = re.fullmatch(r'\S+ 10\.0\.0\.1 "GET ((?:[^"\\]|\\.)*)" 404 12 rid-2 1\.50', line)
    assert match, line
    # The quoted field decodes back to exactly the path the caller sent.
    decoded = re.sub(
        r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt\\\"])",
        lambda m: {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}.get(m[1]) or chr(int(m[1][1:], 16)),
        match[1],
    )
    assert decoded == path


def test_a_client_address_stays_one_field() -> None:
    assert str(Bare('1.2.3.4 "GET /forged"')) == "1.2.3.4\\x20\\x22GET\\x20/forged\\x22"
    assert str(Bare("")) == "-" and str(Bare("2001:db8::1")) == "2001:db8::1"


def test_server_loggers_lines_are_escaped_and_redacted_before_their_own_formatter() -> None:
    from fastapi_app.core.logging import ForeignLineFilter

    record = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws?token=eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl\r\nFORGED"), _raise_with("boom\nFORGED"),
    )  # fmt: skip
    assert ForeignLineFilter().filter(record)
    text = logging.Formatter("%(levelname)s: %(message)s").format(record)  # uvicorn's own formatter, in effect
    first, *rest = text.split("\n")
    assert first == 'ERROR: 127.0.0.1:5000 - "WebSocket /ws?token=***\\r\\nFORGED" [accepted]'
    assert rest[0] == CONTINUATION + "Traceback (most recent call last):"
    assert rest[-2:] == [CONTINUATION + "ValueError: boom", CONTINUATION + "FORGED"]
