"""What every spreadsheet reader produces: sheets as raw rows, before conversion to the result model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi_app.extractors.base import ExtractionResult, SpreadsheetContent, column_letter

# Summaries are exact over every row, even when fewer rows are kept in the result (ctx.max_cells).
# Past this many cells in one sheet only the kept rows are read, because calamine plus the Python
# copy cost ~90 bytes a cell and a worker must not be killed by one upload.
FULL_READ_MAX_CELLS = 5_000_000


@dataclass(slots=True)
class RawSheet:
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
    # (row, col) 0-based, formula text, whether the file stores its value (xlsx only)
    formula_cells: list[tuple[int, int, str, bool]] = field(default_factory=list)


@dataclass(slots=True)
class Budget:
    """Cells still allowed under ctx.max_cells, shared by all sheets of the workbook."""

    remaining: int

    def rows_that_fit(self, width: int, wanted: int) -> int:
        if width <= 0:
            return wanted
        return max(0, min(wanted, self.remaining // width))


@dataclass(slots=True)
class Extras:
    """Per-sheet facts calamine does not give: formula counts and cached error values."""

    formulas: dict[str, int] = field(default_factory=dict)
    errors: dict[str, dict[tuple[int, int], str]] = field(default_factory=dict)
    formula_cells: dict[str, list[tuple[int, int, str, bool]]] = field(default_factory=dict)
    vba_modules: list[str] = field(default_factory=list)
    date_system: str | None = None
    defined_names: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def apply(self, content: SpreadsheetContent, result: ExtractionResult) -> None:
        content.date_system = self.date_system or content.date_system  # type: ignore[assignment]
        content.defined_names = self.defined_names or content.defined_names
        content.vba_modules = self.vba_modules or content.vba_modules
        for code, message in self.warnings:
            result.warn(code, message)


def a1_range(top: int, left: int, bottom: int, right: int) -> str:
    return f"{a1(top, left)}:{a1(bottom, right)}"


def a1(row: int, col: int) -> str:
    return f"{column_letter(col)}{row + 1}"


def overlay(raw: RawSheet, cells: dict[tuple[int, int], Any]) -> None:
    """Put values a reader dropped (cached error values) back into the rows it read."""
    for (row, col), value in cells.items():
        if row < len(raw.rows) and col < len(raw.rows[row]):
            raw.rows[row][col] = value
