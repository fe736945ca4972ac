"""A sheet's rows to the result model: blocks of cells separated by fully empty rows and columns,
the header row of each, and the tables and column summaries they give."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from itertools import repeat, zip_longest
from operator import itemgetter, setitem
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import ColumnSummary, Sheet, Table, column_letter
from fastapi_app.extractors.spreadsheet.cells import json_column, json_safe
from fastapi_app.extractors.spreadsheet.rows import RawSheet, a1_range
from fastapi_app.extractors.spreadsheet.summaries import cell_kind, summarize_column

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

HEADER_SCAN_ROWS = 20
# How far below a header candidate to look for values of another type.
HEADER_LOOKAHEAD_ROWS = 50
# A last table row labelled like this is a total: kept in rows, left out of the column summaries.
_TOTAL_LABEL = re.compile(r"^(합\s*계|총\s*계|소\s*계|총\s*액|누\s*계|계|grand\s*total|sub\s*total|total|sum)\b", re.I)


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


def build_sheet(index: int, raw: RawSheet, *, numeric_strings: bool, decimal_comma: bool) -> Sheet:
    def kind_of(value: Any) -> str:
        return cell_kind(value, numeric_strings=numeric_strings, decimal_comma=decimal_comma)

    def summarize(values: Sequence[Any], col: int, heading: Any) -> ColumnSummary:
        return summarize_column(
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
            converted = json_column(column)
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
            cell_range=a1_range(spec.top, spec.left, spec.bottom, spec.right),
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
