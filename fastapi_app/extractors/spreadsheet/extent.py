"""Archive pre-checks: before a reader opens a zip workbook (trusting its directory), every member
is inflated once under the archive limits and each sheet's extent is measured from its bytes."""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from typing import Any

from fastapi_app.extractors.archive import ZIP_ERRORS, SafeZip
from fastapi_app.extractors.base import (
    CorruptFileError,
    ExtractionContext,
    SheetTooLargeError,
    column_letter,
    short_reason,
)
from fastapi_app.extractors.spreadsheet.rows import a1
from fastapi_app.extractors.spreadsheet.xlsx import SCAN_CHUNK, WHOLE_PART_MAX_BYTES, xlsx_sheet_parts


def check_archive(ctx: ExtractionContext, fmt: str) -> None:
    """Before calamine opens the zip itself (trusting its directory): every member is inflated once
    under the archive limits, and each sheet's extent is measured on the way, so neither a bomb nor a
    5 KB sheet naming cell XFD1048576 reaches a reader that would allocate for it."""
    try:
        with SafeZip(ctx.path, ctx.archive_limits) as archive:
            measured: dict[str, _Extent] = {}
            if fmt in ("xlsx", "xlsm"):
                for name, part in _xlsx_sheet_parts_of(archive).items():
                    with archive.open(part) as reader:
                        measured[name] = _xlsx_extent(reader)
                        inflated = reader.drain()
                    _refuse_large_grid(ctx, name, measured[name])
                    archive.count_inflated(inflated)
            elif fmt == "ods" and "content.xml" in archive.names:
                with archive.open("content.xml") as reader:
                    extents = _ods_extents(reader)
                    archive.count_inflated(reader.drain())
                for index, extent in enumerate(extents):
                    _refuse_large_grid(ctx, f"#{index + 1}", extent)
            archive.verify(archive.unread_names())
    except ZIP_ERRORS as exc:
        raise CorruptFileError(f"Damaged ZIP container: {short_reason(exc)}") from None


def _refuse_large_grid(ctx: ExtractionContext, sheet: str, extent: _Extent) -> None:
    if extent.cells <= ctx.max_sheet_grid_cells:
        return
    corner = a1(extent.rows - 1, extent.cols - 1)
    declared = f" (its dimension says {extent.dimension})" if extent.dimension else ""
    raise SheetTooLargeError(
        f"Sheet {sheet} reaches cell {corner}{declared}: {extent.rows:,} rows x {extent.cols:,} columns = "
        f"{extent.cells:,} cells, above the limit of {ctx.max_sheet_grid_cells:,}"
    )


def _xlsx_sheet_parts_of(archive: SafeZip) -> dict[str, str]:
    """Sheet name -> part for every sheet calamine may read: those the workbook lists, wherever
    they point, and any worksheet part it does not list."""
    from xml.etree import ElementTree

    parts: dict[str, str] = {}
    with contextlib.suppress(KeyError, ElementTree.ParseError):  # calamine will report a broken workbook
        workbook = ElementTree.fromstring(archive.read_small("xl/workbook.xml", WHOLE_PART_MAX_BYTES))  # noqa: S314
        parts = {f"'{name}'": part for name, part in xlsx_sheet_parts(archive, workbook).items()}
    listed = set(parts.values())
    for name in sorted(archive.names):
        if _SHEET_PART.match(name) and name not in listed:
            parts[f"part {name}"] = name
    return {name: part for name, part in parts.items() if part in archive.names}


_SHEET_PART = re.compile(r"^xl/(?:worksheets|macrosheets|dialogsheets)/[^/]+\.xml$")
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\s[^>]*?\bref=\"([A-Z0-9$:]{2,40})\"")
# Cell references (`<c r="CV1048576">`) are not collected one by one (~0.8 s per million cells in
# Python): per chunk, one search looks for references that would widen the extent known so far
# (a longer column, a later one-letter column, a row number with more digits), and only a chunk that
# has one is read in full. After the first rows the extent is known and the search finds nothing.


def _greater(current: str, alphabet: str) -> list[str]:
    """Regex alternatives for strings of ``current``'s length over ``alphabet`` that sort after it."""
    options: list[str] = []
    for index, char in enumerate(current):
        higher = alphabet[alphabet.index(char) + 1 :]
        if higher:
            rest = len(current) - index - 1
            tail = f"[{alphabet[0]}-{alphabet[-1]}]{{{rest}}}" if rest else ""
            options.append(f"{current[:index]}[{higher[0]}-{higher[-1]}]{tail}")
    return options


@functools.lru_cache(maxsize=256)
def _beyond(cols: int, rows: int) -> re.Pattern[bytes]:
    """A reference to a cell outside the first ``rows`` x ``cols``: a longer or later column, or a
    longer or larger row number. Exact, so on a sheet whose extent is known it finds nothing."""
    letters = column_letter(cols - 1) if cols else ""
    digits = str(rows) if rows else ""
    columns = [f"[A-Z]{{{len(letters) + 1},7}}", *_greater(letters, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")]
    numbers = [f"[0-9]{{{len(digits) + 1},}}", *_greater(digits, "0123456789")]
    pattern = f'r="(?:(?:{"|".join(columns)})[0-9]|[A-Z]{{1,7}}(?:{"|".join(numbers)})")'
    return re.compile(pattern.encode())


_COLUMN_REF = re.compile(rb'r="([A-Z]{1,7})[0-9]')
_ROW_REF = re.compile(rb'r="[A-Z]{1,7}([0-9]{1,11})"')
_ROW_R = re.compile(rb'<row r="([0-9]{1,10})"')
# Tags not written `<c r="...` / `<row r="...`: placed by position (no r), prefixed, or with r later.
_UNUSUAL_TAGS = (
    re.compile(rb'<c(?:>|/>|\s(?!r="))'),
    re.compile(rb'<row(?:>|/>|\s(?!r="))'),
    re.compile(rb":(?:c|row)[\s>/]"),
)
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c[\s>/]")
_REF_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c\s[^>]*?\br=\"")
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row[\s>/]")
_REF_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row\s[^>]*?\br=\"")


@dataclass(slots=True)
class _Extent:
    """How far a sheet's cells reach: the grid a reader allocates is rows x cols."""

    rows: int = 0
    cols: int = 0
    dimension: str | None = None

    @property
    def cells(self) -> int:
        return self.rows * self.cols


def _letters_to_number(letters: bytes) -> int:
    number = 0
    for char in letters:
        number = number * 26 + (char - 64)
    return number


def _xlsx_extent(stream: Any) -> _Extent:
    """The extent of one worksheet part, from its cell references, by scanning the bytes.

    calamine sizes its grid from the cells it finds, not from ``<dimension>`` (a bogus dimension
    alone costs nothing), so the references decide; the dimension is kept for the message. Cells and
    rows written without ``r`` are placed by position, so where they occur each row's cells and the
    rows are counted too.
    """
    extent = _Extent()
    unreferenced_rows = open_row_cells = 0
    carry = b""
    head = True
    while chunk := stream.read(SCAN_CHUNK):
        buffer = carry + chunk if carry else chunk
        cut = buffer.rfind(b">") + 1  # no tag straddles two parts
        part, carry = buffer[:cut], buffer[cut:]
        if head and (match := _DIMENSION.search(part)):
            extent.dimension = match.group(1).decode("ascii")
        head = False
        if numbers := _ROW_R.findall(part):
            extent.rows = max(extent.rows, int(max(numbers, key=lambda n: (len(n), n))))
        if _beyond(extent.cols, extent.rows).search(part):
            columns = _COLUMN_REF.findall(part)
            widest = max(columns, key=lambda ref: (len(ref), ref))
            extent.cols = max(extent.cols, _letters_to_number(widest))
            extent.rows = max(extent.rows, max(map(int, _ROW_REF.findall(part))))
        if any(pattern.search(part) for pattern in _UNUSUAL_TAGS):
            unreferenced_rows += len(_ROW_TAG.findall(part)) - len(_REF_ROW_TAG.findall(part))
            if len(_CELL_TAG.findall(part)) != len(_REF_CELL_TAG.findall(part)):
                # Cells per row; the first piece continues the row left open by the previous part.
                counts = [len(_CELL_TAG.findall(row)) for row in _ROW_TAG.split(part)]
                counts[0] += open_row_cells
                extent.cols = max(extent.cols, *counts)
                open_row_cells = counts[-1]
                continue
        open_row_cells = 0
    extent.rows += unreferenced_rows
    return extent


_ODS_TOKEN = re.compile(rb"<(/?)(?:[\w.-]+:)?(table|table-row|table-cell|covered-table-cell)(?=[\s>/])([^>]*?)(/?)>")
_ROWS_REPEATED = re.compile(rb"number-rows-repeated=\"([0-9]{1,10})\"")
_COLUMNS_REPEATED = re.compile(rb"number-columns-repeated=\"([0-9]{1,10})\"")


def _ods_extents(stream: Any) -> list[_Extent]:
    """The extent of each table in an ODS content.xml.

    Repeated rows and cells (``number-rows-repeated``, ``number-columns-repeated``) are expanded by
    readers, so they count in full once they hold a value; trailing empty repeats, which
    LibreOffice writes to the sheet's edge, count for nothing, as readers drop them.
    """
    extents: list[_Extent] = []
    current = _Extent()
    row = col = 0
    row_repeat = 1
    row_has_value = False
    carry = b""
    while chunk := stream.read(SCAN_CHUNK):
        buffer = carry + chunk if carry else chunk
        cut = buffer.rfind(b">") + 1
        part, carry = buffer[:cut], buffer[cut:]
        for closing, kind, attrs, empty in _ODS_TOKEN.findall(part):
            if kind == b"table":
                if not closing:
                    current, row = _Extent(), 0
                    extents.append(current)
            elif kind == b"table-row":
                if closing:
                    if row_has_value:
                        current.rows = max(current.rows, row + row_repeat)
                    row += row_repeat
                else:
                    match = _ROWS_REPEATED.search(attrs)
                    row_repeat = int(match.group(1)) if match else 1
                    col, row_has_value = 0, False
                    if empty:
                        row += row_repeat
            elif not closing:
                match = _COLUMNS_REPEATED.search(attrs)
                repeat = int(match.group(1)) if match else 1
                if not empty or b"value-type" in attrs:
                    current.cols = max(current.cols, col + repeat)
                    row_has_value = True
                col += repeat
    return extents
