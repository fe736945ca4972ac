"""Values for formula cells a file stores without one.

Workbooks written by scripts (openpyxl, many exporters) carry formulas but no cached results, so
every reader sees an empty cell. The simple aggregates that make up most such sheets (totals and
averages of a column, a reference to another cell) are computed here from the sheet's own values;
anything else (other functions, other sheets, text operations) stays null and is named in a
warning. Nothing is executed: the formula text is parsed, never evaluated as code.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi_app.extractors.base import ExtractionResult, FormulaCell
from fastapi_app.extractors.spreadsheet.rows import RawSheet, a1

_REF = r"\$?([A-Z]{1,3})\$?(\d+)"
_CELL = re.compile(rf"^{_REF}$")
_RANGE = re.compile(rf"^{_REF}:{_REF}$")
_CALL = re.compile(r"^(SUM|AVERAGE|COUNT|MIN|MAX)\((.*)\)$")
# A referenced range may not span more cells than this (SUM(A:A) over a million rows is refused).
_MAX_RANGE_CELLS = 1_000_000


class _NotSimple(Exception):
    pass


def apply_formulas(raw: RawSheet, result: ExtractionResult) -> list[FormulaCell]:
    """The sheet's formula cells; uncached ones computed where simple, and written into its rows."""
    cells: list[FormulaCell] = []
    pending: list[tuple[int, int, str]] = []
    for row, col, text, has_value in raw.formula_cells:
        if has_value:
            cells.append(FormulaCell(cell=a1(row, col), formula=text, value=_get(raw.rows, row, col)))
        else:
            pending.append((row, col, text))
            cells.append(FormulaCell(cell=a1(row, col), formula=text))
    if not pending:
        return cells
    by_ref = {c.cell: c for c in cells}
    unresolved = {(row, col) for row, col, _ in pending}
    # A total of totals needs its parts first: passes until nothing more can be computed.
    progress = True
    while progress and pending:
        progress = False
        for item in list(pending):
            row, col, text = item
            try:
                value = _evaluate(text.strip(), raw.rows, unresolved)
            except _Waiting:
                continue
            except _NotSimple:
                pending.remove(item)
                continue
            _put(raw, row, col, value)
            by_ref[a1(row, col)].value = value
            by_ref[a1(row, col)].computed = True
            unresolved.discard((row, col))
            pending.remove(item)
            progress = True
    left = [c for c in cells if c.value is None and not c.computed and (_cell_index(c.cell) in unresolved)]
    if left:
        names = ", ".join(f"{c.cell} (={c.formula})" for c in left[:5]) + (" ..." if len(left) > 5 else "")
        result.warn(
            "FORMULA_NOT_COMPUTED",
            f"Sheet '{raw.name}': {len(left)} formula(s) stored without a value and not computed: {names}",
        )
    return cells


class _Waiting(Exception):
    """The formula refers to a cell that is itself an uncomputed formula (yet)."""


def _evaluate(text: str, rows: list[list[Any]], unresolved: set[tuple[int, int]]) -> float | int | str | None:
    text = text.removeprefix("=").replace(" ", "")
    if match := _CELL.match(text):
        return _value_at(rows, *_index(match.group(1), match.group(2)), unresolved)
    call = _CALL.match(text.upper())
    if not call:
        raise _NotSimple
    function, arguments = call.groups()
    numbers: list[float] = []
    for argument in filter(None, arguments.split(",")):
        numbers += _numbers(argument, rows, unresolved)
    if function == "SUM":
        return _tidy(sum(numbers))
    if function == "COUNT":
        return len(numbers)
    if not numbers:
        # Excel: AVERAGE of nothing is #DIV/0!, MIN/MAX of nothing is 0.
        return "#DIV/0!" if function == "AVERAGE" else 0
    if function == "AVERAGE":
        return _tidy(sum(numbers) / len(numbers))
    return _tidy(min(numbers) if function == "MIN" else max(numbers))


def _numbers(argument: str, rows: list[list[Any]], unresolved: set[tuple[int, int]]) -> list[float]:
    if match := _RANGE.match(argument):
        r0, c0 = _index(match.group(1), match.group(2))
        r1, c1 = _index(match.group(3), match.group(4))
        (r0, r1), (c0, c1) = sorted((r0, r1)), sorted((c0, c1))
        if (r1 - r0 + 1) * (c1 - c0 + 1) > _MAX_RANGE_CELLS:
            raise _NotSimple
        values = [_value_at(rows, r, c, unresolved) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
        # Ranges count numbers only (text, blanks and booleans are skipped), as in Excel.
        return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if match := _CELL.match(argument):
        value = _value_at(rows, *_index(match.group(1), match.group(2)), unresolved)
        return [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []
    try:
        return [float(argument)]
    except ValueError:
        raise _NotSimple from None


def _value_at(rows: list[list[Any]], row: int, col: int, unresolved: set[tuple[int, int]]) -> Any:
    if (row, col) in unresolved:
        raise _Waiting
    return _get(rows, row, col)


def _get(rows: list[list[Any]], row: int, col: int) -> Any:
    if row < len(rows) and col < len(rows[row]):
        value = rows[row][col]
        return None if value == "" else value
    return None


def _put(raw: RawSheet, row: int, col: int, value: Any) -> None:
    """Writes a computed value, growing the rows (and the used range) to reach the cell."""
    width = max(raw.total_cols, col + 1)
    if row >= len(raw.rows) and raw.rows_truncated:
        return  # beyond the rows kept under the cell limit: listed in `formulas`, not in `rows`
    for existing in raw.rows:
        existing.extend([""] * (width - len(existing)))
    while len(raw.rows) <= row:
        raw.rows.append([""] * width)
    raw.rows[row][col] = value
    grown = row + 1 > raw.total_rows or width > raw.total_cols
    raw.total_rows, raw.total_cols = max(raw.total_rows, row + 1), width
    raw.keep = max(raw.keep, row + 1)
    if grown:
        start = raw.dimensions.split(":")[0] if raw.dimensions else "A1"
        raw.dimensions = f"{start}:{a1(raw.total_rows - 1, raw.total_cols - 1)}"


def _tidy(value: float) -> float | int:
    rounded = round(value, 10)
    return int(rounded) if rounded.is_integer() else rounded


def _index(letters: str, digits: str) -> tuple[int, int]:
    col = 0
    for char in letters:
        col = col * 26 + ord(char) - 64
    return int(digits) - 1, col - 1


def _cell_index(ref: str) -> tuple[int, int]:
    match = _CELL.match(ref)
    assert match is not None
    return _index(match.group(1), match.group(2))
