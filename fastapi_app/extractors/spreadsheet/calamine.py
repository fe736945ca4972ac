"""Workbooks (xlsx/xlsm/xlsb/ods/xls) read through python-calamine, with the archive pre-checks
first and the format's extras (xlsx XML scan, xlrd for .xls) beside it."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    SpreadsheetContent,
    not_about_the_file,
    short_reason,
)
from fastapi_app.extractors.spreadsheet.errors import mentions_encryption
from fastapi_app.extractors.spreadsheet.extent import check_archive
from fastapi_app.extractors.spreadsheet.rows import FULL_READ_MAX_CELLS, Budget, Extras, RawSheet, a1, overlay
from fastapi_app.extractors.spreadsheet.sniff import VBA_STORAGE, ole_entry_names, zip_has
from fastapi_app.extractors.spreadsheet.vba import vba_modules_of_ooxml, vba_modules_of_xls
from fastapi_app.extractors.spreadsheet.xls import open_xlrd, sheets_from_xlrd, xlrd_defined_names, xls_extras
from fastapi_app.extractors.spreadsheet.xlsx import xlsx_extras

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class InBackground:
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


def read_workbook(
    ctx: ExtractionContext,
    fmt: str,
    budget: Budget,
    content: SpreadsheetContent,
    result: ExtractionResult,
) -> Iterator[RawSheet]:
    extras: InBackground | Extras = Extras()
    xlrd_book = None
    if fmt in ("xlsx", "xlsm", "xlsb", "ods"):
        check_archive(ctx, fmt)
    if fmt in ("xlsx", "xlsm", "xlsb") and zip_has(ctx, "xl/vbaProject.bin"):
        content.vba_modules = vba_modules_of_ooxml(ctx)
    if fmt in ("xlsx", "xlsm"):
        extras = InBackground(xlsx_extras, ctx)
        content.has_vba = fmt == "xlsm" and zip_has(ctx, "xl/vbaProject.bin")
    elif fmt == "xlsb":
        content.has_vba = zip_has(ctx, "xl/vbaProject.bin")
    elif fmt == "xls":
        content.has_vba = VBA_STORAGE in ole_entry_names(ctx.path, (VBA_STORAGE,))
        if content.has_vba:
            content.vba_modules = vba_modules_of_xls(ctx.path)
        xlrd_book = open_xlrd(ctx)
        if xlrd_book is not None:
            content.date_system = "1904" if xlrd_book.datemode else "1900"
            content.defined_names = xlrd_defined_names(xlrd_book)
            extras = xls_extras(xlrd_book)
    try:
        yield from _read_with_calamine(ctx, fmt, budget, content, result, xlrd_book, extras)
    finally:
        if isinstance(extras, InBackground):
            with contextlib.suppress(Exception):
                extras.result()  # never leave the scan running past the extraction
        if xlrd_book is not None:
            xlrd_book.release_resources()


def _read_with_calamine(
    ctx: ExtractionContext,
    fmt: str,
    budget: Budget,
    content: SpreadsheetContent,
    result: ExtractionResult,
    xlrd_book: Any | None,
    extras: InBackground | Extras,
) -> Iterator[RawSheet]:
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
        if mentions_encryption(exc):
            raise EncryptedFileError("Workbook is password-protected") from None
        if xlrd_book is not None:
            # xlrd tolerates some damaged legacy files calamine rejects.
            result.warn("LENIENT_READER", f"Read with the lenient .xls reader ({short_reason(exc)})")
            yield from sheets_from_xlrd(ctx, xlrd_book, budget)
            return
        raise CorruptFileError(f"Workbook could not be opened: {short_reason(exc)}") from None

    try:
        yield from _sheets_from_calamine(ctx, workbook, budget, content, result, extras)
    finally:
        workbook.close()


def _sheets_from_calamine(
    ctx: ExtractionContext,
    workbook: Any,
    budget: Budget,
    content: SpreadsheetContent,
    result: ExtractionResult,
    pending: InBackground | Extras,
) -> Iterator[RawSheet]:
    try:
        metadata = list(workbook.sheets_metadata)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"Workbook structure could not be read: {short_reason(exc)}") from None

    extras: Extras | None = None
    for index, meta in enumerate(metadata):
        raw = RawSheet(
            name=str(meta.name),
            visibility=_enum_name(meta.visible, _VISIBILITY, "visible"),
            kind=_enum_name(meta.typ, _KINDS, "worksheet"),
        )
        if raw.kind != "chartsheet":
            _fill_from_calamine(workbook, index, raw, budget, result)
            if extras is None:  # waited for only once the first sheet is parsed
                extras = pending.result() if isinstance(pending, InBackground) else pending
                extras.apply(content, result)
            raw.formula_count = extras.formulas.get(raw.name, 0)
            overlay(raw, extras.errors.get(raw.name, {}))
            raw.formula_cells = extras.formula_cells.get(raw.name, [])
        ctx.progress(index + 1, len(metadata), "sheet")
        yield raw
    if extras is None:  # chart sheets only
        (pending.result() if isinstance(pending, InBackground) else pending).apply(content, result)


def _fill_from_calamine(workbook: Any, index: int, raw: RawSheet, budget: Budget, result: ExtractionResult) -> None:
    try:
        sheet = _calamine(workbook.get_sheet_by_index, index)
        start, end = sheet.start, sheet.end
        raw.merged_ranges = _merged_from_calamine(sheet)
        if end is None:
            return
        raw.total_rows, raw.total_cols = end[0] + 1, end[1] + 1
        raw.dimensions = f"{a1(*start)}:{a1(*end)}"
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
    return [f"{a1(*start)}:{a1(*end)}" for start, end in ranges]
