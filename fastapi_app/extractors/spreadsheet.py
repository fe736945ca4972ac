"""Spreadsheet extraction: xlsx/xlsm/xlsb/ods/xls through python-calamine, CSV through the csv module.

The format is decided from the file's bytes, not its name or claimed MIME type, because uploads are
often mislabelled (an .xls that is really OOXML, an .xlsx that is really ODS).

Rows are anchored at A1: ``sheet.rows[r - 1][c - 1]`` is the cell at row r, column c, so A1
references from clients map straight onto the list. ``dimensions`` is the used range.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import mmap
import posixpath
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import (
    ColumnSummary,
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    Sheet,
    SpreadsheetContent,
    UnsupportedContentError,
    not_about_the_file,
    short_reason,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Encrypted OOXML is an OLE compound file whose directory holds an "EncryptedPackage" stream.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

TEXT_LIMIT_CHARS = 1_000_000
# Above these sizes the optional extras (formula/error scan, xlrd pass) are skipped: they are
# pure-Python passes and would dominate the extraction time on big workbooks.
XLSX_SCAN_MAX_XML_BYTES = 64 * 1024 * 1024
XLRD_MAX_FILE_BYTES = 20 * 1024 * 1024
CSV_SNIFF_CHARS = 64 * 1024
CSV_ENCODING_SAMPLE_BYTES = 4 * 1024 * 1024
HEADER_SCAN_ROWS = 20
_MAX_EXACT_INT = 2**53

_CSV_DELIMITERS = ",;\t|"
_CSV_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_CSV_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")

_XLS_ERRORS = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
}


@dataclass(slots=True)
class _RawSheet:
    """One sheet as read by a backend, before conversion to the result model."""

    name: str
    visibility: str = "visible"
    kind: str = "worksheet"
    rows: list[list[Any]] = field(default_factory=list)
    total_rows: int = 0
    total_cols: int = 0
    dimensions: str | None = None
    rows_truncated: bool = False
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


def extract(ctx: ExtractionContext) -> ExtractionResult:
    result = ExtractionResult.for_context(ctx)
    fmt = _sniff_format(ctx)
    budget = _Budget(max(ctx.max_cells, 0))
    content = SpreadsheetContent(format=fmt, sheet_count=0)

    if fmt == "csv":
        raw_sheets = [_read_csv(ctx, budget, content)]
        ctx.progress(1, 1, "sheet")
        numeric_strings = True
    else:
        raw_sheets = _read_workbook(ctx, fmt, budget, content, result)
        numeric_strings = False

    for raw in raw_sheets:
        if raw.rows_truncated:
            result.warn(
                "CELL_LIMIT",
                f"Sheet '{raw.name}': {len(raw.rows)} of {raw.total_rows} rows kept "
                f"(limit {ctx.max_cells} cells per file)",
            )
    decimal_comma = content.csv_delimiter not in (None, ",")
    content.sheets = [
        _build_sheet(index, raw, numeric_strings=numeric_strings, decimal_comma=decimal_comma)
        for index, raw in enumerate(raw_sheets)
    ]
    content.sheet_count = len(content.sheets)
    content.formula_count = sum(s.formula_count for s in content.sheets)
    result.spreadsheet = content
    result.text = _text(content.sheets, result)
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
        if _ole_has_encrypted_package(ctx.path):
            raise EncryptedFileError("Workbook is password-protected (encrypted OOXML package)")
        return "xls"
    if ctx.mime_type == "text/csv" or ctx.path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return "csv"
    if not head:
        raise CorruptFileError("File is empty")
    raise CorruptFileError("Not a spreadsheet: unrecognised file signature")


def _zip_format(ctx: ExtractionContext) -> str:
    import zipfile

    try:
        with zipfile.ZipFile(ctx.path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, EOFError) as exc:
        raise CorruptFileError(f"Damaged ZIP container: {short_reason(exc)}") from None
    if "xl/workbook.xml" in names or any(n.startswith("xl/worksheets/") for n in names):
        macro = "xl/vbaProject.bin" in names or ctx.path.suffix.lower() == ".xlsm"
        return "xlsm" if macro else "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "ods"
    raise UnsupportedContentError("ZIP archive is not a spreadsheet (no workbook inside)")


def _ole_has_encrypted_package(path: Path) -> bool:
    # A byte search instead of a full compound-file parse: directory entry names are stored as
    # UTF-16LE, and mmap keeps the search from reading a large legacy .xls into memory.
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return mm.find(_ENCRYPTED_PACKAGE) != -1
    except (OSError, ValueError):
        return False


# --- workbooks (calamine) --------------------------------------------------------------------


def _read_workbook(
    ctx: ExtractionContext,
    fmt: str,
    budget: _Budget,
    content: SpreadsheetContent,
    result: ExtractionResult,
) -> list[_RawSheet]:
    xlrd_book = _open_xlrd(ctx) if fmt == "xls" else None
    try:
        return _read_with_calamine(ctx, fmt, budget, content, result, xlrd_book)
    finally:
        if xlrd_book is not None:
            xlrd_book.release_resources()


def _read_with_calamine(
    ctx: ExtractionContext,
    fmt: str,
    budget: _Budget,
    content: SpreadsheetContent,
    result: ExtractionResult,
    xlrd_book: Any | None,
) -> list[_RawSheet]:
    import python_calamine as pc

    try:
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
            content.date_system = "1904" if xlrd_book.datemode else "1900"
            return _sheets_from_xlrd(ctx, xlrd_book, budget)
        raise CorruptFileError(f"Workbook could not be opened: {short_reason(exc)}") from None

    try:
        sheets = _sheets_from_calamine(ctx, workbook, budget, result)
    finally:
        workbook.close()

    if fmt in ("xlsx", "xlsm"):
        _apply_xlsx_extras(ctx, sheets, content, result)
    elif xlrd_book is not None:
        content.date_system = "1904" if xlrd_book.datemode else "1900"
        _apply_xls_errors(xlrd_book, sheets)
    return sheets


def _sheets_from_calamine(
    ctx: ExtractionContext, workbook: Any, budget: _Budget, result: ExtractionResult
) -> list[_RawSheet]:
    try:
        metadata = list(workbook.sheets_metadata)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"Workbook structure could not be read: {short_reason(exc)}") from None

    sheets: list[_RawSheet] = []
    for index, meta in enumerate(metadata):
        raw = _RawSheet(
            name=str(meta.name),
            visibility=_enum_name(meta.visible, _VISIBILITY, "visible"),
            kind=_enum_name(meta.typ, _KINDS, "worksheet"),
        )
        sheets.append(raw)
        if raw.kind == "chartsheet":
            ctx.progress(index + 1, len(metadata), "sheet")
            continue
        try:
            sheet = _calamine(workbook.get_sheet_by_index, index)
            start, end = sheet.start, sheet.end
            if end is not None:
                raw.total_rows, raw.total_cols = end[0] + 1, end[1] + 1
                raw.dimensions = f"{_a1(*start)}:{_a1(*end)}"
                take = budget.rows_that_fit(raw.total_cols, raw.total_rows)
                raw.rows = _calamine(sheet.to_python, skip_empty_area=False, nrows=take) if take else []
                raw.rows_truncated = len(raw.rows) < raw.total_rows
                budget.remaining -= len(raw.rows) * raw.total_cols
            raw.merged_ranges = _merged_from_calamine(sheet)
        except Exception as exc:  # one bad sheet should not lose the others
            if not_about_the_file(exc):
                raise
            result.warn("SHEET_UNREADABLE", f"Sheet '{raw.name}' could not be read: {short_reason(exc)}")
        ctx.progress(index + 1, len(metadata), "sheet")
    return sheets


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


# --- xlsx extras: formulas, error cells, date system ------------------------------------------


def _apply_xlsx_extras(
    ctx: ExtractionContext, sheets: list[_RawSheet], content: SpreadsheetContent, result: ExtractionResult
) -> None:
    """Formula counts, cached error values (calamine drops them) and the 1904 flag, from the XML."""
    import zipfile
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(ctx.path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314 - see _scan_sheet_xml
            content.date_system = "1900"
            parts = _xlsx_sheet_parts(archive, workbook)
            for element in workbook.iter():
                flag = element.get("date1904", "").lower()
                if _local(element.tag) == "workbookPr" and flag in ("1", "true"):
                    content.date_system = "1904"
            size = sum(archive.getinfo(p).file_size for p in parts.values() if p in archive.NameToInfo)
            if size > XLSX_SCAN_MAX_XML_BYTES:
                result.warn("PARTIAL_METADATA", "Workbook too large to count formulas and error cells")
                return
            for raw in sheets:
                part = parts.get(raw.name)
                if raw.kind != "worksheet" or part is None or part not in archive.NameToInfo:
                    continue
                with archive.open(part) as stream:
                    raw.formula_count, errors = _scan_sheet_xml(stream)
                _overlay(raw, errors)
    except Exception as exc:  # values are already extracted; extras are best effort
        if not_about_the_file(exc):
            raise
        result.warn("PARTIAL_METADATA", f"Formula/error scan failed: {short_reason(exc)}")


def _xlsx_sheet_parts(archive: Any, workbook: Any) -> dict[str, str]:
    from xml.etree import ElementTree

    targets: dict[str, str] = {}
    try:
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
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


def _scan_sheet_xml(stream: Any) -> tuple[int, dict[tuple[int, int], str]]:
    from xml.etree import ElementTree

    # ElementTree never fetches external entities, and expat >= 2.4.1 (bundled with the supported
    # Pythons) refuses entity-expansion bombs, so defusedxml would add nothing here.
    formulas = 0
    errors: dict[tuple[int, int], str] = {}
    sheet_data = None
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):  # noqa: S314
        name = _local(element.tag)
        if event == "start":
            if name == "sheetData":
                sheet_data = element
            continue
        if name == "f":
            formulas += 1
        elif name == "c" and element.get("t") == "e":
            position = _parse_ref(element.get("r", ""))
            value = next((child.text for child in element if _local(child.tag) == "v"), None)
            if position is not None and value:
                errors[position] = value
        elif name == "row" and sheet_data is not None:
            # Dropping finished rows keeps memory flat on large sheets.
            sheet_data.remove(element)
    return formulas, errors


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
    """xlrd book for error cells and the date mode, or None when unavailable or too big.

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


def _apply_xls_errors(book: Any, sheets: list[_RawSheet]) -> None:
    try:
        # By name, not position: xlrd and calamine do not list chart and macro sheets alike.
        positions = {name: index for index, name in enumerate(book.sheet_names())}
        for raw in sheets:
            if raw.name not in positions or not raw.rows:
                continue
            sheet = book.sheet_by_index(positions[raw.name])
            errors: dict[tuple[int, int], str] = {}
            for row in range(min(sheet.nrows, len(raw.rows))):
                types = sheet.row_types(row)
                if 5 not in types:  # xlrd.XL_CELL_ERROR
                    continue
                for col, cell_type in enumerate(types):
                    if cell_type == 5:
                        code = sheet.cell_value(row, col)
                        errors[(row, col)] = _XLS_ERRORS.get(code, "#ERROR!")
            _overlay(raw, errors)
    except Exception as exc:  # error strings are a refinement of values already read
        if not_about_the_file(exc):
            raise
        return


def _sheets_from_xlrd(ctx: ExtractionContext, book: Any, budget: _Budget) -> list[_RawSheet]:
    import xlrd

    sheets: list[_RawSheet] = []
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            raw = _RawSheet(
                name=sheet.name,
                visibility={1: "hidden", 2: "very_hidden"}.get(sheet.visibility, "visible"),
                total_rows=sheet.nrows,
                total_cols=sheet.ncols,
            )
            if sheet.nrows and sheet.ncols:
                raw.dimensions = f"A1:{_a1(sheet.nrows - 1, sheet.ncols - 1)}"
            take = budget.rows_that_fit(sheet.ncols, sheet.nrows)
            for row in range(take):
                cells = [_xlrd_value(xlrd, book, cell) for cell in sheet.row(row)]
                raw.rows.append(cells + [""] * (sheet.ncols - len(cells)))
            raw.rows_truncated = take < sheet.nrows
            budget.remaining -= take * sheet.ncols
            sheets.append(raw)
            ctx.progress(index + 1, book.nsheets, "sheet")
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"Workbook could not be read: {short_reason(exc)}") from None
    return sheets


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
    kept_cells = 0
    try:
        for record in reader:
            raw.total_rows += 1
            raw.total_cols = max(raw.total_cols, len(record))
            # Rows keep their own length: CSV has no used range, and padding would invent cells.
            if not raw.rows_truncated and kept_cells + len(record) <= budget.remaining:
                raw.rows.append(record)
                kept_cells += len(record)
            else:
                raw.rows_truncated = True
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
    return _ENCODING_NAMES.get(best.encoding, best.encoding), best.encoding


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


# --- conversion to the result model ----------------------------------------------------------


def _build_sheet(index: int, raw: _RawSheet, *, numeric_strings: bool, decimal_comma: bool) -> Sheet:
    def kind_of(value: Any) -> str:
        return _kind(value, numeric_strings=numeric_strings, decimal_comma=decimal_comma)

    header_index = _detect_header(raw.rows[:HEADER_SCAN_ROWS], kind_of)
    width = max((len(row) for row in raw.rows), default=0)
    stats = [_ColumnStats() for _ in range(width)]
    for row_index, row in enumerate(raw.rows):
        counted = header_index is None or row_index > header_index
        for col, value in enumerate(row):
            if counted:
                stats[col].add(kind_of(value), value, decimal_comma=decimal_comma)
            row[col] = json_safe(value)

    header = raw.rows[header_index] if header_index is not None else []
    columns: list[ColumnSummary] = []
    for col in range(width):
        heading = header[col] if col < len(header) else None
        columns.append(stats[col].summary(_column_letter(col), heading))
    return Sheet(
        name=raw.name,
        index=index,
        visibility=raw.visibility,  # type: ignore[arg-type]
        kind=raw.kind,  # type: ignore[arg-type]
        dimensions=raw.dimensions,
        row_count=raw.total_rows,
        column_count=raw.total_cols,
        header_row=header_index + 1 if header_index is not None else None,
        rows=raw.rows,
        rows_truncated=raw.rows_truncated,
        merged_ranges=raw.merged_ranges,
        formula_count=raw.formula_count,
        columns=columns,
    )


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


def _detect_header(rows: list[list[Any]], kind_of: Any) -> int | None:
    """Index of the header row: mostly text, with values of another type below it.

    Rows above a header are titles (text only), so the scan stops at the first row holding a
    number, date or bool: data that starts without a header has none. "Below" looks at the whole
    scan window rather than only the next row, because a text column (a name) often sits between
    the header and the first numeric cell.
    """
    kinds = [[kind_of(v) for v in row] for row in rows]
    width = max((len(k) for k in kinds), default=0)
    for index, row_kinds in enumerate(kinds):
        if any(kind not in ("text", "empty") for kind in row_kinds):
            return None
        text_columns = [col for col, kind in enumerate(row_kinds) if kind == "text"]
        if not text_columns or len(text_columns) * 2 <= width:
            continue
        if any(
            col < len(below) and below[col] not in ("text", "empty")
            for below in kinds[index + 1 :]
            for col in text_columns
        ):
            return index
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
    # Summing decimal fractions leaves binary noise (0.1 + 0.2); 10 significant digits hide it.
    return float(f"{value:.10g}") if math.isfinite(value) else value


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
        lines = list(_sheet_lines(sheet.rows))
        if not lines:
            continue
        block = "\n".join(lines)
        if size + len(block) > TEXT_LIMIT_CHARS:
            parts.append(block[: max(0, TEXT_LIMIT_CHARS - size)])
            result.warn("TEXT_LIMIT", f"Text cut at {TEXT_LIMIT_CHARS} characters")
            break
        parts.append(block)
        size += len(block) + 2
    return "\n\n".join(parts)


def _sheet_lines(rows: list[list[Any]]) -> Iterator[str]:
    for row in rows:
        cells = [_cell_text(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            yield "\t".join(cells)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    # Tabs and newlines inside a cell would break the one-row-per-line layout.
    return str(value).replace("\t", " ").replace("\r\n", " ").replace("\n", " ").strip()


def _a1(row: int, col: int) -> str:
    return f"{_column_letter(col)}{row + 1}"


def _column_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
