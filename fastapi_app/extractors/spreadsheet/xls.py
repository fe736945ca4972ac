"""Legacy .xls through xlrd: error cells, formula counts, names and the date mode calamine does not
give, and the lenient reader for damaged files calamine rejects."""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    not_about_the_file,
    short_reason,
)
from fastapi_app.extractors.spreadsheet.errors import mentions_encryption
from fastapi_app.extractors.spreadsheet.rows import Budget, Extras, RawSheet, a1

if TYPE_CHECKING:
    from collections.abc import Iterator

XLRD_MAX_FILE_BYTES = 20 * 1024 * 1024

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


def open_xlrd(ctx: ExtractionContext) -> Any | None:
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
        if mentions_encryption(exc):
            raise EncryptedFileError("Workbook is password-protected") from None
        return None


def xlrd_defined_names(book: Any) -> list[str]:
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


def xls_extras(book: Any) -> Extras:
    extras = Extras()
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


def sheets_from_xlrd(ctx: ExtractionContext, book: Any, budget: Budget) -> Iterator[RawSheet]:
    import xlrd

    try:
        extras = xls_extras(book)
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            raw = RawSheet(
                name=sheet.name,
                visibility={1: "hidden", 2: "very_hidden"}.get(sheet.visibility, "visible"),
                total_rows=sheet.nrows,
                total_cols=sheet.ncols,
                formula_count=extras.formulas.get(sheet.name, 0),
            )
            if sheet.nrows and sheet.ncols:
                raw.dimensions = f"A1:{a1(sheet.nrows - 1, sheet.ncols - 1)}"
            raw.keep = budget.rows_that_fit(sheet.ncols, sheet.nrows)
            for row in range(raw.keep):
                cells = [_xlrd_value(xlrd, book, cell) for cell in sheet.row(row)]
                raw.rows.append(cells + [""] * (sheet.ncols - len(cells)))
            raw.rows_truncated = raw.keep < sheet.nrows
            raw.summaries_partial = raw.rows_truncated
            merged = sorted(getattr(sheet, "merged_cells", None) or [])  # only with formatting_info
            raw.merged_ranges = [f"{a1(r0, c0)}:{a1(r1 - 1, c1 - 1)}" for r0, r1, c0, c1 in merged]
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
