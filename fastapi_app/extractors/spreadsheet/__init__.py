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

from typing import TYPE_CHECKING

from fastapi_app.extractors.base import (
    ExtractionContext,
    ExtractionResult,
    FamilyExtractor,
    Sheet,
    SpreadsheetContent,
)
from fastapi_app.extractors.spreadsheet.calamine import read_workbook
from fastapi_app.extractors.spreadsheet.cells import iso_duration, json_safe, sheet_text
from fastapi_app.extractors.spreadsheet.delimited import read_csv
from fastapi_app.extractors.spreadsheet.formulas import apply_formulas
from fastapi_app.extractors.spreadsheet.rows import Budget, RawSheet
from fastapi_app.extractors.spreadsheet.sniff import sniff_format
from fastapi_app.extractors.spreadsheet.tables import build_sheet

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["EXTRACTOR", "extract", "iso_duration", "json_safe"]


def _extract(ctx: ExtractionContext) -> ExtractionResult:
    result = ExtractionResult.for_context(ctx)
    fmt = sniff_format(ctx)
    budget = Budget(max(ctx.max_cells, 0))
    content = SpreadsheetContent(format=fmt, sheet_count=0)

    if fmt == "csv":
        raw_sheets: Iterable[RawSheet] = [read_csv(ctx, budget, content)]
        numeric_strings = True
    else:
        raw_sheets = read_workbook(ctx, fmt, budget, content, result)
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
        formulas = apply_formulas(raw, result) if raw.formula_cells else []
        sheet = build_sheet(len(sheets), raw, numeric_strings=numeric_strings, decimal_comma=decimal_comma)
        sheet.formulas = [f.model_copy(update={"value": json_safe(f.value)}) for f in formulas]
        sheets.append(sheet)
    if fmt == "csv":
        ctx.progress(1, 1, "sheet")
    content.sheets = sheets
    content.sheet_count = len(sheets)
    content.formula_count = sum(s.formula_count for s in sheets)
    result.spreadsheet = content
    result.text = sheet_text(sheets, result)
    return result


EXTRACTOR = FamilyExtractor(name="spreadsheet", version="1.1", run=_extract)
extract = EXTRACTOR.extract
