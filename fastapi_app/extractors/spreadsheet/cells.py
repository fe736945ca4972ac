"""Cell values as JSON and as text."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import ExtractionResult, Sheet

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

TEXT_LIMIT_CHARS = 1_000_000
_MAX_EXACT_INT = 2**53
_PLAIN_JSON_TYPES = frozenset({str, int, bool, type(None)})
_FLOAT_ONLY = {float}
_NUMERIC_JSON_TYPES = _PLAIN_JSON_TYPES | {float}
_DATE_JSON_TYPES = frozenset({str, date, datetime})


def json_column(col: list[Any]) -> list[Any]:
    """json_safe over a whole column (the same list back when nothing changes), in bulk where possible."""
    types = set(map(type, col))
    if types <= _PLAIN_JSON_TYPES:
        return col
    if float in types and types <= _NUMERIC_JSON_TYPES:
        # Typical number column: a header (and maybe blanks) on top, then only floats.
        start = 0
        while type(col[start]) is not float:
            start += 1
        tail = col[start:] if start else col
        if set(map(type, tail)) == _FLOAT_ONLY:
            converted = _float_column(tail)
            if converted is tail:
                return col
            return [json_safe(v) for v in col[:start]] + converted if start else converted
        return [_float_json(v) if type(v) is float else v for v in col]
    if types <= _DATE_JSON_TYPES:
        return [v if type(v) is str else v.isoformat() for v in col]
    return list(map(json_safe, col))


def _float_column(col: list[float]) -> list[Any]:
    integral = sum(map(float.is_integer, col))
    if integral == 0 and math.isfinite(math.fsum(col)):
        return col
    if integral == len(col) and min(col) >= -_MAX_EXACT_INT and max(col) <= _MAX_EXACT_INT:
        return list(map(int, col))
    return [
        (int(v) if v.is_integer() and -_MAX_EXACT_INT <= v <= _MAX_EXACT_INT else v if v - v == 0 else None)
        for v in col
    ]


def _float_json(value: float) -> Any:
    if value.is_integer() and -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT:
        return int(value)
    return value if math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """A cell value as JSON: ISO dates, "HH:MM:SS" times, ISO-8601 durations, integral floats as int."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) <= _MAX_EXACT_INT:
            return int(value)
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        return iso_duration(value)
    return str(value)


def iso_duration(value: timedelta) -> str:
    """timedelta(hours=36, minutes=30) -> "PT36H30M": elapsed hours, as an [h]:mm cell shows them.

    Days are not split off: an ISO "P1D" is a calendar day (23 or 25 hours across a DST change),
    while a sheet's duration is an exact count of hours."""
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    seconds = round(seconds, 6)
    out = f"{sign}P"
    clock = ""
    if hours:
        clock += f"{int(hours)}H"
    if minutes:
        clock += f"{int(minutes)}M"
    if seconds:
        clock += f"{int(seconds)}S" if float(seconds).is_integer() else f"{seconds:g}S"
    if clock:
        out += f"T{clock}"
    return out if out not in ("P", "-P") else "PT0S"


def sheet_text(sheets: Iterable[Sheet], result: ExtractionResult) -> str:
    parts: list[str] = []
    size = 0
    for sheet in sheets:
        lines: list[str] = []
        for line in _sheet_lines(sheet.rows):
            lines.append(line)
            size += len(line) + 1
            if size > TEXT_LIMIT_CHARS:  # stop early: a 1M-cell sheet would otherwise be rendered whole
                break
        if lines:
            parts.append("\n".join(lines))
        if size > TEXT_LIMIT_CHARS:
            break
    text = "\n\n".join(parts)
    if len(text) > TEXT_LIMIT_CHARS:
        result.warn("TEXT_LIMIT", f"Text cut at {TEXT_LIMIT_CHARS} characters")
        text = text[:TEXT_LIMIT_CHARS]
    return text


def _sheet_lines(rows: list[list[Any]]) -> Iterator[str]:
    for row in rows:
        cells = [
            v.strip() if (t := type(v)) is str else str(v) if t is int or t is float else _cell_text(v) for v in row
        ]
        line = "\t".join(cells)
        if line.count("\t") != len(cells) - 1 or "\n" in line or "\r" in line:
            line = "\t".join(_cell_text(v) for v in row)  # tabs or line breaks inside a cell
        line = line.rstrip("\t")
        if line:
            yield line


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    # Tabs and newlines inside a cell would break the one-row-per-line layout.
    return str(value).replace("\t", " ").replace("\r\n", " ").replace("\n", " ").strip()
