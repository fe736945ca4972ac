"""Spreadsheet extraction: xlsx/xlsm/xlsb/ods/xls through python-calamine, CSV through the csv module.

The format is decided from the file's bytes, not its name or claimed MIME type, because uploads are
often mislabelled (an .xls that is really OOXML, an .xlsx that is really ODS).

Rows are anchored at A1: ``sheet.rows[r - 1][c - 1]`` is the cell at row r, column c, so A1
references from clients map straight onto the list. ``dimensions`` is the used range.

Cell values are what the file stores: for formulas, the result Excel last computed and saved. Nothing
is recalculated and macros are never run (``has_vba`` only reports that a project exists).

Each sheet is split into blocks of cells separated by fully empty rows and columns; a block whose
header row (mostly text, with values of another type below) can be found, or a headerless grid of at
least three columns, becomes a ``Table``. Label/value blocks ("송장번호 | INV-1") stay in ``rows`` only.
Column summaries are per table; ``Sheet.columns`` repeats those of the sheet's largest table.

Speed: per-cell Python work is what makes spreadsheet extraction slow, so summaries and JSON
conversion work on whole columns (``zip(*rows)``, ``set(map(type, column))``, ``sum``/``min``/``max``),
which run in C. Per-cell Python code is kept to the header scan (a few rows per block) and CSV.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import math
import mmap
import posixpath
import re
import struct
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import repeat, zip_longest
from operator import itemgetter, setitem
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.archive import ZIP_ERRORS, SafeZip
from fastapi_app.extractors.base import (
    ColumnSummary,
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    Sheet,
    SheetTooLargeError,
    SpreadsheetContent,
    Table,
    UnsupportedContentError,
    column_letter,
    not_about_the_file,
    short_reason,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from pathlib import Path

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Compound-file directory entries are 128 bytes with the name (UTF-16LE) first, so a real entry name
# starts at a file offset that is a multiple of 128.
_OLE_ENTRY_SIZE = 128
_ENCRYPTED_PACKAGE = "EncryptedPackage"  # encrypted OOXML: an OLE file holding the real zip, encrypted
_VBA_STORAGE = "_VBA_PROJECT_CUR"  # the macro project of a legacy .xls
_NOT_SPREADSHEETS = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF-": "a PDF document",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}

TEXT_LIMIT_CHARS = 1_000_000
# Above this size the formula/error scan of the sheet XML is skipped (it is still only ~0.15 s for a
# 1M-cell sheet, so the limit only guards against pathological files).
XLSX_SCAN_MAX_XML_BYTES = 512 * 1024 * 1024
XLRD_MAX_FILE_BYTES = 20 * 1024 * 1024
# Summaries are exact over every row, even when fewer rows are kept in the result (ctx.max_cells).
# Past this many cells in one sheet only the kept rows are read, because calamine plus the Python
# copy cost ~90 bytes a cell and a worker must not be killed by one upload.
FULL_READ_MAX_CELLS = 5_000_000
CSV_SNIFF_CHARS = 64 * 1024
CSV_ENCODING_SAMPLE_BYTES = 4 * 1024 * 1024
HEADER_SCAN_ROWS = 20
# How far below a header candidate to look for values of another type.
HEADER_LOOKAHEAD_ROWS = 50
_MAX_EXACT_INT = 2**53

_CSV_DELIMITERS = ",;\t|"
_CSV_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_CSV_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
# A last table row labelled like this is a total: kept in rows, left out of the column summaries.
_TOTAL_LABEL = re.compile(r"^(합\s*계|총\s*계|소\s*계|총\s*액|누\s*계|계|grand\s*total|sub\s*total|total|sum)\b", re.I)

_XLS_ERRORS = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
}
_BIFF_FORMULA, _BIFF_BOF, _BIFF_EOF = 0x0006, 0x0809, 0x000A

_KIND_OF_TYPE: dict[type, str] = {
    float: "number",
    int: "number",
    bool: "bool",
    str: "text",
    date: "date",
    datetime: "datetime",
    time: "time",
    timedelta: "duration",
}
_TEMPORAL = frozenset({"date", "datetime", "time", "duration"})
_PLAIN_JSON_TYPES = frozenset({str, int, bool, type(None)})


@dataclass(slots=True)
class _RawSheet:
    """One sheet as read by a backend, before conversion to the result model."""

    name: str
    visibility: str = "visible"
    kind: str = "worksheet"
    rows: list[list[Any]] = field(default_factory=list)  # every row read, for exact summaries
    keep: int = 0  # how many of them the result keeps (ctx.max_cells)
    total_rows: int = 0
    total_cols: int = 0
    dimensions: str | None = None
    rows_truncated: bool = False
    summaries_partial: bool = False
    merged_ranges: list[str] = field(default_factory=list)
    formula_count: int = 0


@dataclass(slots=True)
class _Budget:
    """Cells still allowed under ctx.max_cells, shared by all sheets of the workbook."""

    remaining: int

    def rows_that_fit(self, width: int, wanted: int) -> int:
        if width <= 0:
            return wanted
        return max(0, min(wanted, self.remaining // width))


@dataclass(slots=True)
class _Extras:
    """Per-sheet facts calamine does not give: formula counts and cached error values."""

    formulas: dict[str, int] = field(default_factory=dict)
    errors: dict[str, dict[tuple[int, int], str]] = field(default_factory=dict)
    date_system: str | None = None
    defined_names: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def apply(self, content: SpreadsheetContent, result: ExtractionResult) -> None:
        content.date_system = self.date_system or content.date_system  # type: ignore[assignment]
        content.defined_names = self.defined_names or content.defined_names
        for code, message in self.warnings:
            result.warn(code, message)


class _InBackground:
    """A call run in a thread; ``result()`` waits for it and re-raises what it raised.

    Used for the xlsx formula/error scan: calamine releases the GIL while it parses, so on a
    multi-core host the scan costs no wall time.
    """

    def __init__(self, call: Callable[..., Any], *args: Any) -> None:
        import threading

        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call, args), name="xlsx-scan", daemon=True)
        self._thread.start()

    def _run(self, call: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self._value = call(*args)
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def extract(ctx: ExtractionContext) -> ExtractionResult:
    result = ExtractionResult.for_context(ctx)
    fmt = _sniff_format(ctx)
    budget = _Budget(max(ctx.max_cells, 0))
    content = SpreadsheetContent(format=fmt, sheet_count=0)

    if fmt == "csv":
        raw_sheets: Iterable[_RawSheet] = [_read_csv(ctx, budget, content)]
        numeric_strings = True
    else:
        raw_sheets = _read_workbook(ctx, fmt, budget, content, result)
        numeric_strings = False

    decimal_comma = content.csv_delimiter not in (None, ",")
    sheets: list[Sheet] = []
    # Sheets are built one at a time so only one sheet's full-size rows are alive at once.
    for raw in raw_sheets:
        if raw.rows_truncated:
            result.warn(
                "CELL_LIMIT",
                f"Sheet '{raw.name}': {raw.keep} of {raw.total_rows} rows kept "
                f"(limit {ctx.max_cells} cells per file)"
                + ("" if raw.summaries_partial else "; column summaries cover all rows"),
            )
        if raw.summaries_partial:
            result.warn("PARTIAL_SUMMARY", f"Sheet '{raw.name}': column summaries cover the kept rows only")
        sheets.append(_build_sheet(len(sheets), raw, numeric_strings=numeric_strings, decimal_comma=decimal_comma))
    if fmt == "csv":
        ctx.progress(1, 1, "sheet")
    content.sheets = sheets
    content.sheet_count = len(sheets)
    content.formula_count = sum(s.formula_count for s in sheets)
    result.spreadsheet = content
    result.text = _text(sheets, result)
    return result


# --- format detection ------------------------------------------------------------------------


def _sniff_format(ctx: ExtractionContext) -> str:
    try:
        with open(ctx.path, "rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CorruptFileError(f"File could not be read: {exc.strerror or exc}") from None

    if head.startswith(_ZIP_MAGIC):
        return _zip_format(ctx)
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in _ole_entry_names(ctx.path, (_ENCRYPTED_PACKAGE,)):
            raise EncryptedFileError("Workbook is password-protected (encrypted OOXML package)")
        return "xls"
    for magic, what in _NOT_SPREADSHEETS.items():
        if head.startswith(magic):
            raise UnsupportedContentError(f"File is {what}, not a spreadsheet")
    if ctx.mime_type == "text/csv" or ctx.path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return "csv"
    if not head:
        raise CorruptFileError("File is empty")
    raise CorruptFileError("Not a spreadsheet: unrecognised file signature")


def _zip_format(ctx: ExtractionContext) -> str:
    try:
        with SafeZip(ctx.path, ctx.archive_limits) as archive:
            names = archive.names
            mimetype = archive.read("mimetype", 100) if "mimetype" in names else b""
    except ZIP_ERRORS as exc:
        raise CorruptFileError(f"Damaged ZIP container: {short_reason(exc)}") from None
    if "xl/workbook.xml" in names or any(n.startswith("xl/worksheets/") for n in names):
        macro = "xl/vbaProject.bin" in names or ctx.path.suffix.lower() == ".xlsm"
        return "xlsm" if macro else "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "ods"
    raise UnsupportedContentError("ZIP archive is not a spreadsheet (no workbook inside)")


def _zip_has(ctx: ExtractionContext, name: str) -> bool:
    try:
        with SafeZip(ctx.path, ctx.archive_limits) as archive:
            return name in archive.names
    except ZIP_ERRORS:
        return False


def _check_archive(ctx: ExtractionContext, fmt: str) -> None:
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
    corner = _a1(extent.rows - 1, extent.cols - 1)
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
        workbook = ElementTree.fromstring(archive.read_small("xl/workbook.xml", _WHOLE_PART_MAX_BYTES))  # noqa: S314
        parts = {f"'{name}'": part for name, part in _xlsx_sheet_parts(archive, workbook).items()}
    listed = set(parts.values())
    for name in sorted(archive.names):
        if _SHEET_PART.match(name) and name not in listed:
            parts[f"part {name}"] = name
    return {name: part for name, part in parts.items() if part in archive.names}


def _ole_entry_names(path: Path, wanted: Iterable[str]) -> set[str]:
    """Which of ``wanted`` are names of directory entries (streams or storages) of an OLE file.

    A byte search instead of a compound-file parse: it needs no extra library, and mmap keeps it
    from reading a large legacy .xls into memory. Only hits on a directory-entry boundary count,
    so a cell that happens to contain the text does not.
    """
    found: set[str] = set()
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for name in wanted:
                needle = name.encode("utf-16-le")
                start = mm.find(needle)
                while start != -1:
                    if start % _OLE_ENTRY_SIZE == 0:
                        found.add(name)
                        break
                    start = mm.find(needle, start + 1)
    except (OSError, ValueError):
        return found
    return found


# --- workbooks (calamine) --------------------------------------------------------------------


def _read_workbook(
    ctx: ExtractionContext,
    fmt: str,
    budget: _Budget,
    content: SpreadsheetContent,
    result: ExtractionResult,
) -> Iterator[_RawSheet]:
    extras: _InBackground | _Extras = _Extras()
    xlrd_book = None
    if fmt in ("xlsx", "xlsm", "xlsb", "ods"):
        _check_archive(ctx, fmt)
    if fmt in ("xlsx", "xlsm"):
        extras = _InBackground(_xlsx_extras, ctx)
        content.has_vba = fmt == "xlsm" and _zip_has(ctx, "xl/vbaProject.bin")
    elif fmt == "xlsb":
        content.has_vba = _zip_has(ctx, "xl/vbaProject.bin")
    elif fmt == "xls":
        content.has_vba = _VBA_STORAGE in _ole_entry_names(ctx.path, (_VBA_STORAGE,))
        xlrd_book = _open_xlrd(ctx)
        if xlrd_book is not None:
            content.date_system = "1904" if xlrd_book.datemode else "1900"
            content.defined_names = _xlrd_defined_names(xlrd_book)
            extras = _xls_extras(xlrd_book)
    try:
        yield from _read_with_calamine(ctx, fmt, budget, content, result, xlrd_book, extras)
    finally:
        if isinstance(extras, _InBackground):
            with contextlib.suppress(Exception):
                extras.result()  # never leave the scan running past the extraction
        if xlrd_book is not None:
            xlrd_book.release_resources()


def _read_with_calamine(
    ctx: ExtractionContext,
    fmt: str,
    budget: _Budget,
    content: SpreadsheetContent,
    result: ExtractionResult,
    xlrd_book: Any | None,
    extras: _InBackground | _Extras,
) -> Iterator[_RawSheet]:
    import python_calamine as pc

    try:
        if ctx.path.suffix.lower() in _CALAMINE_SUFFIXES.get(fmt, ()):
            # Read in place; from_filelike would first copy the whole file into memory.
            workbook = _calamine(pc.CalamineWorkbook.from_path, str(ctx.path))
        else:
            # calamine picks its reader by extension, so a mislabelled file goes through a file object.
            with open(ctx.path, "rb") as fh:
                workbook = _calamine(pc.CalamineWorkbook.from_filelike, fh)
    except pc.PasswordError:
        raise EncryptedFileError("Workbook is password-protected") from None
    except Exception as exc:  # calamine errors, and Rust panics via _calamine
        if not_about_the_file(exc):
            raise
        if _mentions_encryption(exc):
            raise EncryptedFileError("Workbook is password-protected") from None
        if xlrd_book is not None:
            # xlrd tolerates some damaged legacy files calamine rejects.
            result.warn("LENIENT_READER", f"Read with the lenient .xls reader ({short_reason(exc)})")
            yield from _sheets_from_xlrd(ctx, xlrd_book, budget)
            return
        raise CorruptFileError(f"Workbook could not be opened: {short_reason(exc)}") from None

    try:
        yield from _sheets_from_calamine(ctx, workbook, budget, content, result, extras)
    finally:
        workbook.close()


def _sheets_from_calamine(
    ctx: ExtractionContext,
    workbook: Any,
    budget: _Budget,
    content: SpreadsheetContent,
    result: ExtractionResult,
    pending: _InBackground | _Extras,
) -> Iterator[_RawSheet]:
    try:
        metadata = list(workbook.sheets_metadata)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"Workbook structure could not be read: {short_reason(exc)}") from None

    extras: _Extras | None = None
    for index, meta in enumerate(metadata):
        raw = _RawSheet(
            name=str(meta.name),
            visibility=_enum_name(meta.visible, _VISIBILITY, "visible"),
            kind=_enum_name(meta.typ, _KINDS, "worksheet"),
        )
        if raw.kind != "chartsheet":
            _fill_from_calamine(workbook, index, raw, budget, result)
            if extras is None:  # waited for only once the first sheet is parsed
                extras = pending.result() if isinstance(pending, _InBackground) else pending
                extras.apply(content, result)
            raw.formula_count = extras.formulas.get(raw.name, 0)
            _overlay(raw, extras.errors.get(raw.name, {}))
        ctx.progress(index + 1, len(metadata), "sheet")
        yield raw
    if extras is None:  # chart sheets only
        (pending.result() if isinstance(pending, _InBackground) else pending).apply(content, result)


def _fill_from_calamine(workbook: Any, index: int, raw: _RawSheet, budget: _Budget, result: ExtractionResult) -> None:
    try:
        sheet = _calamine(workbook.get_sheet_by_index, index)
        start, end = sheet.start, sheet.end
        raw.merged_ranges = _merged_from_calamine(sheet)
        if end is None:
            return
        raw.total_rows, raw.total_cols = end[0] + 1, end[1] + 1
        raw.dimensions = f"{_a1(*start)}:{_a1(*end)}"
        raw.keep = budget.rows_that_fit(raw.total_cols, raw.total_rows)
        budget.remaining -= raw.keep * raw.total_cols
        raw.rows_truncated = raw.keep < raw.total_rows
        if raw.total_rows * raw.total_cols <= FULL_READ_MAX_CELLS:
            wanted = raw.total_rows
        else:
            wanted, raw.summaries_partial = raw.keep, True
        raw.rows = _calamine(sheet.to_python, skip_empty_area=False, nrows=wanted) if wanted else []
        raw.keep = min(raw.keep, len(raw.rows))
        # Free calamine's copy of the sheet now: the Python rows are all that is needed from here.
        del sheet
    except Exception as exc:  # one bad sheet should not lose the others
        if not_about_the_file(exc):
            raise
        result.warn("SHEET_UNREADABLE", f"Sheet '{raw.name}' could not be read: {short_reason(exc)}")


class _CalaminePanic(Exception):
    pass


def _calamine(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a calamine call, turning a Rust panic into an ordinary exception.

    pyo3 raises panics as PanicException, a BaseException subclass that ``except Exception``
    would let through to the worker; a panic on a malformed file is still just a damaged file.
    """
    try:
        return call(*args, **kwargs)
    except BaseException as exc:
        if type(exc).__name__ == "PanicException":
            raise _CalaminePanic(f"reader crashed on malformed data: {short_reason(exc)}") from None
        raise


_CALAMINE_SUFFIXES = {
    "xlsx": (".xlsx", ".xlsm"),
    "xlsm": (".xlsx", ".xlsm"),
    "xlsb": (".xlsb",),
    "xls": (".xls", ".xla"),
    "ods": (".ods",),
}
_VISIBILITY = {"Visible": "visible", "Hidden": "hidden", "VeryHidden": "very_hidden"}
_KINDS = {
    "WorkSheet": "worksheet",
    "ChartSheet": "chartsheet",
    "DialogSheet": "dialogsheet",
    "MacroSheet": "macrosheet",
    "Vba": "macrosheet",
}


def _enum_name(value: Any, mapping: dict[str, str], default: str) -> str:
    return mapping.get(str(value).rsplit(".", 1)[-1], default)


def _merged_from_calamine(sheet: Any) -> list[str]:
    regions = getattr(sheet, "merged_cell_ranges", None) or []
    ranges = sorted((tuple(start), tuple(end)) for start, end in regions)
    return [f"{_a1(*start)}:{_a1(*end)}" for start, end in ranges]


def _mentions_encryption(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "password" in text or "encrypt" in text


# --- sheet extent, checked before a reader allocates the grid ------------------------------------

# Parts read whole (workbook.xml, relationships) are refused past this; real ones are kilobytes.
_WHOLE_PART_MAX_BYTES = 64 * 1024 * 1024
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
    while chunk := stream.read(_SCAN_CHUNK):
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
    while chunk := stream.read(_SCAN_CHUNK):
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


# --- xlsx extras: formulas, error cells, date system, defined names ---------------------------


def _xlsx_extras(ctx: ExtractionContext) -> _Extras:
    """Formula counts, cached error values (calamine drops them), the 1904 flag and defined names."""
    from xml.etree import ElementTree

    extras = _Extras()
    try:
        with SafeZip(ctx.path, ctx.archive_limits) as archive:
            # workbook.xml is small; ElementTree never fetches external entities and expat >= 2.4.1
            # refuses entity-expansion bombs, so defusedxml would add nothing.
            workbook = ElementTree.fromstring(archive.read_small("xl/workbook.xml", _WHOLE_PART_MAX_BYTES))  # noqa: S314
            extras.date_system = "1900"
            for element in workbook.iter():
                tag = _local(element.tag)
                if tag == "workbookPr" and element.get("date1904", "").lower() in ("1", "true"):
                    extras.date_system = "1904"
                elif tag == "definedName" and _workbook_level_name(element.get("name", ""), element.attrib):
                    extras.defined_names.append(element.get("name", ""))
            parts = _xlsx_sheet_parts(archive, workbook)
            size = sum(archive.declared_size(p) for p in parts.values() if p in archive.names)
            if size > XLSX_SCAN_MAX_XML_BYTES:
                extras.warnings.append(("PARTIAL_METADATA", "Workbook too large to count formulas and error cells"))
                return extras
            for name, part in parts.items():
                if part not in archive.names or not part.startswith("xl/worksheets/"):
                    continue
                with archive.open(part) as stream:
                    extras.formulas[name], extras.errors[name] = _scan_sheet_xml(stream)
    except Exception as exc:  # values come from calamine; these extras are best effort
        if not_about_the_file(exc):
            raise
        extras.warnings.append(("PARTIAL_METADATA", f"Formula/error scan failed: {short_reason(exc)}"))
    return extras


def _workbook_level_name(name: str, attrib: dict[str, str]) -> bool:
    # Sheet-scoped names, Excel's own (_xlnm.Print_Area, _FilterDatabase) and hidden names are not
    # what a user defined for the workbook.
    if not name or name.lower().startswith("_xlnm."):
        return False
    return "localSheetId" not in attrib and attrib.get("hidden", "").lower() not in ("1", "true")


def _xlsx_sheet_parts(archive: SafeZip, workbook: Any) -> dict[str, str]:
    from xml.etree import ElementTree

    targets: dict[str, str] = {}
    try:
        rels = ElementTree.fromstring(archive.read_small("xl/_rels/workbook.xml.rels", _WHOLE_PART_MAX_BYTES))  # noqa: S314
    except KeyError:
        return {}
    for rel in rels.iter():
        if _local(rel.tag) == "Relationship" and rel.get("Id") and rel.get("Target"):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            targets[rel.get("Id", "")] = posixpath.normpath(path)
    parts: dict[str, str] = {}
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        if rel_id in targets and element.get("name") is not None:
            parts[element.get("name", "")] = targets[rel_id]
    return parts


_XML_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]")
# Small reads: the scan runs in a thread, and large buffers freed there would stay in that thread's
# malloc arena, adding to the peak RSS while calamine holds the sheet.
_SCAN_CHUNK = 128 * 1024


def _scan_sheet_xml(stream: Any) -> tuple[int, dict[tuple[int, int], str]]:
    """Formula cells and cached error values of one worksheet part, by scanning its bytes.

    An XML parse costs ~3 s on a 1M-cell sheet; counting tags in the raw bytes costs ~0.15 s
    (mostly inflating the ZIP member). Text content cannot contain a raw ``<``, so the tags found are
    real. Buffers are cut after the last ``</row>``, so no cell straddles two buffers, and between
    two row ends the only element starting with "f" is a formula: one count of ``<f`` suffices there.
    The part before the first and after the last row end (sheet properties, conditional formats
    with ``<formula>``, filters) is counted tag by tag.
    """
    formulas = 0
    errors: dict[tuple[int, int], str] = {}
    head = stream.read(_SCAN_CHUNK)
    match = _XML_PREFIX.search(head)
    prefix = (match.group(1) or b"") if match else b""
    tags = (b"<" + prefix + b"f>", b"<" + prefix + b"f ", b"<" + prefix + b"f/>")
    in_rows = b"<" + prefix + b"f"
    row_end = b"</" + prefix + b"row>"
    carry = b""
    chunk = head
    first = True
    while chunk:
        buffer = carry + chunk if carry else chunk
        cut = buffer.rfind(row_end)
        if cut == -1:
            carry = buffer
        else:
            cut += len(row_end)
            part, carry = buffer[:cut], buffer[cut:]
            formulas += sum(part.count(tag) for tag in tags) if first else part.count(in_rows)
            first = False
            if b't="e"' in part:
                errors.update(_error_cells(part, prefix))
        chunk = stream.read(_SCAN_CHUNK)
    if carry:
        formulas += sum(carry.count(tag) for tag in tags)
        if b't="e"' in carry:
            errors.update(_error_cells(carry, prefix))
    return formulas, errors


_ERROR_CELL = re.compile(rb"<(?:[\w.-]+:)?c\s([^>]*\bt=\"e\"[^>]*)>")
_REF_ATTR = re.compile(rb"\br=\"([A-Z]{1,3}\d+)\"")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)<")


def _error_cells(part: bytes, prefix: bytes) -> dict[tuple[int, int], str]:
    cells: dict[tuple[int, int], str] = {}
    cell_end = b"</" + prefix + b"c>"
    for match in _ERROR_CELL.finditer(part):
        attrs = match.group(1)
        ref = _REF_ATTR.search(attrs)
        if attrs.endswith(b"/") or ref is None:
            continue
        end = part.find(cell_end, match.end())
        value = _VALUE.search(part, match.end(), end if end != -1 else len(part))
        position = _parse_ref(ref.group(1).decode("ascii"))
        if value and position is not None:
            cells[position] = value.group(1).decode("utf-8", "replace")
    return cells


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_ref(ref: str) -> tuple[int, int] | None:
    match = _CELL_REF.match(ref.replace("$", "").upper())
    if not match:
        return None
    col = 0
    for char in match.group(1):
        col = col * 26 + (ord(char) - 64)
    return int(match.group(2)) - 1, col - 1


def _overlay(raw: _RawSheet, cells: dict[tuple[int, int], Any]) -> None:
    for (row, col), value in cells.items():
        if row < len(raw.rows) and col < len(raw.rows[row]):
            raw.rows[row][col] = value


# --- xls extras and fallback (xlrd) ----------------------------------------------------------


def _open_xlrd(ctx: ExtractionContext) -> Any | None:
    """xlrd book for error cells, formulas, names and the date mode, or None when unavailable or too big.

    ignore_workbook_corruption lets xlrd read files whose compound-document tables are
    inconsistent but whose data is intact (Excel itself opens them).
    """
    if ctx.size_bytes > XLRD_MAX_FILE_BYTES:
        return None
    try:
        import xlrd

        path, quiet = str(ctx.path), io.StringIO()  # xlrd prints corruption notices to a log file
        return xlrd.open_workbook(path, on_demand=True, ignore_workbook_corruption=True, logfile=quiet)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        if _mentions_encryption(exc):
            raise EncryptedFileError("Workbook is password-protected") from None
        return None


def _xlrd_defined_names(book: Any) -> list[str]:
    try:
        return [
            str(n.name)
            for n in book.name_obj_list
            if n.scope == -1 and not n.builtin and not n.hidden and not str(n.name).lower().startswith("_xlnm.")
        ]
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return []


def _xls_extras(book: Any) -> _Extras:
    extras = _Extras()
    try:
        mem = book.mem
        for name, position in zip(book.sheet_names(), book._sh_abs_posn, strict=False):
            extras.formulas[str(name)] = _biff_formula_count(mem, position)
            extras.errors[str(name)] = _xls_errors(book, str(name))
    except Exception as exc:  # counts and error strings refine values already read
        if not_about_the_file(exc):
            raise
    return extras


def _biff_formula_count(mem: Any, position: int) -> int:
    """FORMULA records in one sheet's BIFF substream (cells of a shared formula each have one)."""
    count, depth, size = 0, 0, len(mem)
    while position + 4 <= size:
        record, length = struct.unpack_from("<HH", mem, position)
        position += 4 + length
        if record == _BIFF_FORMULA:
            count += 1
        elif record == _BIFF_BOF:
            depth += 1  # charts embedded in a sheet are nested substreams
        elif record == _BIFF_EOF:
            depth -= 1
            if depth <= 0:
                break
    return count


def _xls_errors(book: Any, name: str) -> dict[tuple[int, int], str]:
    sheet = book.sheet_by_name(name)
    errors: dict[tuple[int, int], str] = {}
    for row in range(sheet.nrows):
        types = sheet.row_types(row)
        if 5 not in types:  # xlrd.XL_CELL_ERROR
            continue
        for col, cell_type in enumerate(types):
            if cell_type == 5:
                errors[(row, col)] = _XLS_ERRORS.get(sheet.cell_value(row, col), "#ERROR!")
    book.unload_sheet(name)
    return errors


def _sheets_from_xlrd(ctx: ExtractionContext, book: Any, budget: _Budget) -> Iterator[_RawSheet]:
    import xlrd

    try:
        extras = _xls_extras(book)
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            raw = _RawSheet(
                name=sheet.name,
                visibility={1: "hidden", 2: "very_hidden"}.get(sheet.visibility, "visible"),
                total_rows=sheet.nrows,
                total_cols=sheet.ncols,
                formula_count=extras.formulas.get(sheet.name, 0),
            )
            if sheet.nrows and sheet.ncols:
                raw.dimensions = f"A1:{_a1(sheet.nrows - 1, sheet.ncols - 1)}"
            raw.keep = budget.rows_that_fit(sheet.ncols, sheet.nrows)
            for row in range(raw.keep):
                cells = [_xlrd_value(xlrd, book, cell) for cell in sheet.row(row)]
                raw.rows.append(cells + [""] * (sheet.ncols - len(cells)))
            raw.rows_truncated = raw.keep < sheet.nrows
            raw.summaries_partial = raw.rows_truncated
            merged = sorted(getattr(sheet, "merged_cells", None) or [])  # only with formatting_info
            raw.merged_ranges = [f"{_a1(r0, c0)}:{_a1(r1 - 1, c1 - 1)}" for r0, r1, c0, c1 in merged]
            budget.remaining -= raw.keep * sheet.ncols
            ctx.progress(index + 1, book.nsheets, "sheet")
            yield raw
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"Workbook could not be read: {short_reason(exc)}") from None


def _xlrd_value(xlrd: Any, book: Any, cell: Any) -> Any:
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        return cell.value
    if cell.ctype == xlrd.XL_CELL_TEXT:
        return cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return _XLS_ERRORS.get(cell.value, "#ERROR!")
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            value = xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
        except Exception as exc:  # out-of-range serials stay numbers
            if not_about_the_file(exc):
                raise
            return cell.value
        if cell.value < 1:
            return value.time()
        return value.date() if float(cell.value).is_integer() else value
    return ""


# --- CSV -------------------------------------------------------------------------------------


def _read_csv(ctx: ExtractionContext, budget: _Budget, content: SpreadsheetContent) -> _RawSheet:
    try:
        with open(ctx.path, "rb") as fh:
            sample = fh.read(CSV_ENCODING_SAMPLE_BYTES + 1)
        encoding, codec = _detect_encoding(sample)
        content.csv_encoding = encoding
        # Streamed through a text wrapper so a large CSV is never held in memory as bytes and str.
        with open(ctx.path, encoding=codec, errors="replace", newline="") as text:
            delimiter, quotechar = _sniff_dialect(text.read(CSV_SNIFF_CHARS))
        content.csv_delimiter = delimiter
        with open(ctx.path, encoding=codec, errors="replace", newline="") as text:
            return _csv_rows(csv.reader(text, delimiter=delimiter, quotechar=quotechar), budget)
    except FileNotFoundError:
        raise
    except (OSError, LookupError) as exc:
        raise CorruptFileError(f"CSV could not be read: {short_reason(exc)}") from None


def _csv_rows(reader: Any, budget: _Budget) -> _RawSheet:
    raw = _RawSheet(name="Sheet1")
    kept_cells = read_cells = 0
    try:
        for record in reader:
            raw.total_rows += 1
            raw.total_cols = max(raw.total_cols, len(record))
            # Rows keep their own length: CSV has no used range, and padding would invent cells.
            if not raw.rows_truncated and kept_cells + len(record) <= budget.remaining:
                raw.keep += 1
                kept_cells += len(record)
            else:
                raw.rows_truncated = True
            if not raw.summaries_partial and read_cells + len(record) <= FULL_READ_MAX_CELLS:
                raw.rows.append(record)  # past the kept rows, still read for exact summaries
                read_cells += len(record)
            else:
                raw.summaries_partial = True
    except csv.Error as exc:
        raise CorruptFileError(f"Malformed CSV at line {reader.line_num}: {short_reason(exc)}") from None
    budget.remaining -= kept_cells
    if raw.total_rows and raw.total_cols:
        raw.dimensions = f"A1:{_a1(raw.total_rows - 1, raw.total_cols - 1)}"
    return raw


def _detect_encoding(sample: bytes) -> tuple[str, str]:
    """(name reported to clients, Python codec), judged from the first CSV_ENCODING_SAMPLE_BYTES."""
    complete = len(sample) <= CSV_ENCODING_SAMPLE_BYTES
    sample = sample[:CSV_ENCODING_SAMPLE_BYTES]
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "utf-16"
    try:
        # Not final unless the sample is the whole file: it may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8", "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or best.encoding is None:
        raise CorruptFileError("File is not text: no character encoding fits its bytes")
    codec = best.encoding
    if codec in ("euc_kr", "cp949", "johab") and _decodes(sample, "cp949", final=complete):
        # Korean Excel saves CSV as cp949 (UHC), a superset of EUC-KR: decoding as EUC-KR would
        # turn the extra syllables (똠, 햏, ...) into replacement characters.
        codec = "cp949"
    return _ENCODING_NAMES.get(codec, codec), codec


def _decodes(sample: bytes, codec: str, *, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(codec)().decode(sample, final=final)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


# charset-normalizer reports Python codec names; clients expect the common spelling.
_ENCODING_NAMES = {"utf_8": "utf-8", "utf_16": "utf-16", "euc_kr": "euc-kr", "cp949": "cp949"}


def _sniff_dialect(sample: str) -> tuple[str, str]:
    if "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]  # a cut-off last line confuses the sniffer
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS)
        return dialect.delimiter, dialect.quotechar or '"'
    except csv.Error:
        pass
    first_line = sample.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in _CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return (best if counts[best] else ","), '"'


# --- tables: blocks, headers, summaries ------------------------------------------------------


@dataclass(slots=True)
class _TableSpec:
    top: int  # 0-based rows and columns, inclusive
    bottom: int
    left: int
    right: int
    header: int | None  # row of the header, or None for a headerless grid
    has_total_row: bool = False

    @property
    def first_data(self) -> int:
        return self.top if self.header is None else self.header + 1

    @property
    def cells(self) -> int:
        return (self.bottom - self.top + 1) * (self.right - self.left + 1)


def _build_sheet(index: int, raw: _RawSheet, *, numeric_strings: bool, decimal_comma: bool) -> Sheet:
    def kind_of(value: Any) -> str:
        return _kind(value, numeric_strings=numeric_strings, decimal_comma=decimal_comma)

    def summarize(values: Sequence[Any], col: int, heading: Any) -> ColumnSummary:
        return _summarize(
            values, column_letter(col), heading, numeric_strings=numeric_strings, decimal_comma=decimal_comma
        )

    rows = raw.rows
    raw.rows = []
    cols = _columns(rows)
    specs = [spec for block in _blocks(rows, cols) if (spec := _table_spec(rows, block, kind_of)) is not None]

    per_table: list[list[ColumnSummary]] = []
    for spec in specs:
        end = spec.bottom - 1 if spec.has_total_row else spec.bottom
        heading = rows[spec.header] if spec.header is not None else []
        per_table.append(
            [
                summarize(cols[c][spec.first_data : end + 1], c, heading[c] if c < len(heading) else None)
                for c in range(spec.left, spec.right + 1)
            ]
        )
    main = max(range(len(specs)), key=lambda i: specs[i].cells, default=None)
    # Without a table the whole used range is summarised, as one headerless block.
    columns = per_table[main] if main is not None else [summarize(col, c, None) for c, col in enumerate(cols)]
    headers = [
        [json_safe(v) for v in rows[s.header][s.left : s.right + 1]] if s.header is not None else [] for s in specs
    ]

    stored = rows[: raw.keep]
    del rows
    if not numeric_strings:  # CSV cells are strings already
        for c, col in enumerate(cols):
            column = col[: len(stored)] if len(stored) < len(col) else col
            converted = _json_column(column)
            if converted is not column:
                # Written back in place by a C-level loop; rebuilding 100k row lists costs more.
                deque(map(setitem, stored, repeat(c), converted), maxlen=0)
    del cols
    tables = []
    for number, (spec, heading) in enumerate(zip(specs, headers, strict=True)):
        table = Table(
            sheet=raw.name,
            index=number,
            kind="sheet",
            header=heading,
            cell_range=_range(spec.top, spec.left, spec.bottom, spec.right),
        )
        body = stored[spec.first_data : spec.bottom + 1]
        full_width = spec.left == 0 and all(len(row) == spec.right + 1 for row in body)
        # Rows spanning the whole sheet are shared with sheet.rows rather than copied.
        table.rows = body if full_width else [row[spec.left : spec.right + 1] for row in body]
        tables.append(table)

    sheet = Sheet(
        name=raw.name,
        index=index,
        visibility=raw.visibility,  # type: ignore[arg-type]
        kind=raw.kind,  # type: ignore[arg-type]
        dimensions=raw.dimensions,
        row_count=raw.total_rows,
        column_count=raw.total_cols,
        header_row=specs[main].header + 1 if main is not None and specs[main].header is not None else None,
        rows_truncated=raw.rows_truncated,
        merged_ranges=raw.merged_ranges,
        formula_count=raw.formula_count,
        columns=columns,
    )
    # Assigned after construction: validation would copy every row list of a large sheet.
    sheet.rows = stored
    sheet.tables = tables
    return sheet


def _columns(rows: list[list[Any]]) -> list[list[Any]]:
    """The sheet as columns, so summaries and conversions run in C rather than per cell."""
    widths = set(map(len, rows))
    if len(widths) == 1:
        # itemgetter per column is ~10x faster than zip(*rows), which hops across every row list.
        return [list(map(itemgetter(c), rows)) for c in range(widths.pop())]
    return [list(col) for col in zip_longest(*rows, fillvalue="")]  # CSV rows of their own length


def _blocks(rows: list[list[Any]], cols: list[list[Any]]) -> list[tuple[int, int, int, int]]:
    """Rectangles (top, bottom, left, right) of cells separated by fully empty rows and columns."""
    if not rows or not cols:
        return []
    blocks: list[tuple[int, int, int, int]] = []
    _split(rows, cols, (0, len(rows) - 1, 0, len(cols) - 1), blocks, depth=0)
    return sorted(blocks, key=lambda b: (b[0], b[2]))  # reading order: top row, then left column


def _split(
    rows: list[list[Any]],
    cols: list[list[Any]],
    area: tuple[int, int, int, int],
    out: list[tuple[int, int, int, int]],
    depth: int,
) -> None:
    top, bottom, left, right = area
    whole_width = left == 0 and right == len(cols) - 1
    row_flags = [_occupied(row if whole_width else row[left : right + 1]) for row in rows[top : bottom + 1]]
    for first, last in _runs(row_flags, top):
        whole_height = first == 0 and last == len(rows) - 1
        col_flags = [_occupied(col if whole_height else col[first : last + 1]) for col in cols[left : right + 1]]
        col_runs = _runs(col_flags, left)
        if depth >= 4 or col_runs == [(left, right)]:
            out.extend((first, last, a, b) for a, b in col_runs)
        else:
            # Narrower column groups may have empty rows of their own (tables side by side).
            for a, b in col_runs:
                _split(rows, cols, (first, last, a, b), out, depth + 1)


def _occupied(cells: Sequence[Any]) -> bool:
    # any() stops at the first truthy cell, which is almost always the first one; only rows of
    # zeros, FALSE and empties need the exact count.
    return any(cells) or len(cells) > cells.count("") + cells.count(None)


def _runs(flags: list[bool], offset: int) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start = None
    for position, flag in enumerate(flags):
        if flag and start is None:
            start = position
        elif not flag and start is not None:
            runs.append((start + offset, position - 1 + offset))
            start = None
    if start is not None:
        runs.append((start + offset, len(flags) - 1 + offset))
    return runs


def _table_spec(
    rows: list[list[Any]], block: tuple[int, int, int, int], kind_of: Callable[[Any], str]
) -> _TableSpec | None:
    top, bottom, left, right = block
    width = right - left + 1
    window = rows[top : min(bottom, top + HEADER_SCAN_ROWS + HEADER_LOOKAHEAD_ROWS) + 1]
    kinds = [_row_kinds(row, left, right, kind_of) for row in window]
    header = _detect_header(kinds, width)
    if header is None:
        # A grid of values without a header is still a table; two columns of them are most often
        # label/value pairs, a lone row is a title or a note, and text alone gives no sign of a grid.
        if width < 3 or bottom == top or _sparse(kinds[0]) or all(k in ("text", "empty") for r in kinds for k in r):
            return None
        spec = _TableSpec(top, bottom, left, right, header=None)
    else:
        if top + header == bottom or (width == 2 and _label_value_pairs(kinds[header:])):
            return None
        spec = _TableSpec(top + header, bottom, left, right, header=top + header)
    last = kinds[bottom - top] if bottom - top < len(kinds) else _row_kinds(rows[bottom], left, right, kind_of)
    if bottom > spec.first_data and _is_total_row(rows[bottom][left : right + 1], last):
        spec.has_total_row = True
    return spec


def _row_kinds(row: list[Any], left: int, right: int, kind_of: Callable[[Any], str]) -> list[str]:
    cells = row[left : right + 1]
    return [kind_of(v) for v in cells] + ["empty"] * (right - left + 1 - len(cells))


def _sparse(kinds: list[str]) -> bool:
    filled = len(kinds) - kinds.count("empty")
    return filled * 2 <= len(kinds)


def _detect_header(kinds: list[list[str]], width: int) -> int | None:
    """Index of the header row in ``kinds``: mostly text, with values of another type below it.

    Sparse rows above it (titles, notes, label/value lines) are skipped. A full row holding a
    number, date or bool before any header means the block is data without a header. "Below" looks
    at the whole window rather than only the next row, because a text column (a name) often sits
    between the header and the first numeric cell.
    """
    for index, row_kinds in enumerate(kinds[:HEADER_SCAN_ROWS]):
        filled = [col for col, kind in enumerate(row_kinds) if kind != "empty"]
        if len(filled) * 2 <= width:
            continue
        if any(row_kinds[col] != "text" for col in filled):
            return None
        if any(below[col] not in ("text", "empty") for below in kinds[index + 1 :] for col in filled):
            return index
    return None


def _label_value_pairs(kinds: list[list[str]]) -> bool:
    """Two columns of labels and values: "송장번호 | INV-1", "발행일 | 2026-03-15".

    A two-column table has one type of value below its header; label/value pairs mix text values
    with dates or numbers, so text below the "header" in the value column gives them away.
    """
    labels = all(row[0] in ("text", "empty") for row in kinds)
    return labels and any(row[1] == "text" for row in kinds[1:])


def _is_total_row(cells: list[Any], kinds: list[str]) -> bool:
    label = next((v for v, k in zip(cells, kinds, strict=False) if k != "empty"), None)
    return isinstance(label, str) and bool(_TOTAL_LABEL.match(label.strip())) and "number" in kinds


def _summarize(
    values: Sequence[Any], letter: str, header: Any, *, numeric_strings: bool, decimal_comma: bool
) -> ColumnSummary:
    if numeric_strings:  # CSV: every cell is a string, so numbers are recognised one by one
        stats = _ColumnStats()
        for value in values:
            stats.add(
                _kind(value, numeric_strings=True, decimal_comma=decimal_comma), value, decimal_comma=decimal_comma
            )
        return stats.summary(letter, header)
    types = set(map(type, values))
    present: Sequence[Any] = values
    if str in types or type(None) in types:
        blanks = values.count("") + (values.count(None) if type(None) in types else 0)
        if blanks:
            present = [v for v in values if v != "" and v is not None]
            types = set(map(type, present))
    summary = ColumnSummary(column=letter, header=json_safe(header), type="empty", count=len(present))
    if not present:
        return summary
    kinds = {_KIND_OF_TYPE.get(t, "text") for t in types}
    summary.type = next(iter(kinds)) if len(kinds) == 1 else "date" if kinds <= _TEMPORAL else "mixed"
    if summary.type == "number":
        total = math.fsum(present)
        if not math.isfinite(total):
            present = [v for v in present if math.isfinite(v)]
            total = math.fsum(present)
        if present:
            summary.sum = _clean_float(total)
            summary.min = float(min(present))
            summary.max = float(max(present))
            summary.mean = _clean_float(total / len(present))
    return summary


def _json_column(col: list[Any]) -> list[Any]:
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


_FLOAT_ONLY = {float}
_NUMERIC_JSON_TYPES = _PLAIN_JSON_TYPES | {float}
_DATE_JSON_TYPES = frozenset({str, date, datetime})


def _kind(value: Any, *, numeric_strings: bool, decimal_comma: bool) -> str:
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number" if math.isfinite(value) else "empty"
    if isinstance(value, (date, time, timedelta)):
        return "date"
    if isinstance(value, str):
        if numeric_strings and _csv_number(value, decimal_comma=decimal_comma) is not None:
            return "number"
        return "text" if value.strip() else "empty"
    return "text"


def _csv_number(value: str, *, decimal_comma: bool) -> float | None:
    text = value.strip()
    if _CSV_NUMBER.match(text):
        return float(text)
    if decimal_comma and _CSV_DECIMAL_COMMA.match(text):
        return float(text.replace(",", "."))
    return None


class _ColumnStats:
    __slots__ = ("count", "high", "kinds", "low", "total")

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = -math.inf

    def add(self, kind: str, value: Any, *, decimal_comma: bool) -> None:
        if kind == "empty":
            return
        self.kinds.add(kind)
        self.count += 1
        if kind == "number":
            is_text = isinstance(value, str)
            number = _csv_number(value, decimal_comma=decimal_comma) if is_text else float(value)
            if number is not None:
                self.total += number
                self.low = min(self.low, number)
                self.high = max(self.high, number)

    def summary(self, letter: str, header: Any) -> ColumnSummary:
        kind = "empty" if not self.kinds else next(iter(self.kinds)) if len(self.kinds) == 1 else "mixed"
        summary = ColumnSummary(column=letter, header=json_safe(header), type=kind, count=self.count)
        if kind == "number" and self.count:
            summary.sum = _clean_float(self.total)
            summary.min = self.low
            summary.max = self.high
            summary.mean = _clean_float(self.total / self.count)
        return summary


def _clean_float(value: float) -> float:
    # Summing decimal fractions leaves binary noise (0.1 + 0.2); 15 significant digits hide it
    # without rounding large amounts (10 digits would drop the cents of 123,456,789.12).
    return float(f"{value:.15g}") if math.isfinite(value) else value


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
    """timedelta(hours=1, minutes=30) -> "PT1H30M"; days stay days ("P1DT2H")."""
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    seconds = round(seconds, 6)
    out = f"{sign}P{int(days)}D" if days else f"{sign}P"
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


def _text(sheets: Iterable[Sheet], result: ExtractionResult) -> str:
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


def _range(top: int, left: int, bottom: int, right: int) -> str:
    return f"{_a1(top, left)}:{_a1(bottom, right)}"


def _a1(row: int, col: int) -> str:
    return f"{column_letter(col)}{row + 1}"
