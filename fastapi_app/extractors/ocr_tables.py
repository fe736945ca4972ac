"""Tables from OCR word boxes: the words of each text line grouped into cells by the gaps between
them, and columns taken from the lines that have the most cells.

A scanned table has no rules or text layer to read, only Tesseract's word boxes. Within a cell words
are a space apart (under about half a line height); between cells the gap is several line heights.
The lines with the most common cell count (3 or more) fix the column bands; every line between the
first and the last such line whose cells each fall in one band is a row, and a line with nothing in
the first column continues the row above (a wrapped cell). One pass over the words, no image work:
it costs well under a millisecond against the ~1 s of recognition."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import NamedTuple

from fastapi_app.extractors.base import Table

_MIN_COLUMNS = 3
_MIN_ROWS = 3
# Words closer than this many (median) word heights belong to the same cell.
_CELL_GAP_HEIGHTS = 1.2
# Single characters that are a vertical rule read as text, not content.
_RULE_CHARS = frozenset("|¦[]")


class OcrWord(NamedTuple):
    text: str
    x0: int
    top: int
    x1: int
    bottom: int
    line: tuple[int, int, int]  # Tesseract's (block, paragraph, line)


class _Cell(NamedTuple):
    text: str
    x0: int
    x1: int


def tables_from_words(words: list[OcrWord]) -> list[Table]:
    """At most one table per page: the longest run of lines sharing the same columns."""
    words = [w for w in words if w.text not in _RULE_CHARS]
    if not words:
        return []
    gap = _CELL_GAP_HEIGHTS * statistics.median(w.bottom - w.top for w in words)
    lines = [_cells(line, gap) for line in _lines(words)]
    counts = Counter(len(cells) for cells in lines if len(cells) >= _MIN_COLUMNS)
    if not counts:
        return []
    columns = max(counts, key=lambda n: (counts[n], n))
    full = [i for i, cells in enumerate(lines) if len(cells) == columns]
    if len(full) < _MIN_ROWS:
        return []
    bands = [(min(lines[i][c].x0 for i in full), max(lines[i][c].x1 for i in full)) for c in range(columns)]
    if any(bands[c][1] >= bands[c + 1][0] for c in range(columns - 1)):
        return []  # the columns overlap: not a table of aligned columns
    rows: list[list[str | None]] = []
    for cells in lines[full[0] : full[-1] + 1]:
        row = _place(cells, bands)
        if row is None:
            continue
        if row[0] is None and rows:
            # a wrapped cell: its lines join the row above
            rows[-1] = [" ".join(p for p in (a, b) if p) or None for a, b in zip(rows[-1], row, strict=True)]
        else:
            rows.append(row)
    if len(rows) < _MIN_ROWS:
        return []
    return [Table(index=0, kind="unruled", header=[], rows=rows)]


def _lines(words: list[OcrWord]) -> list[list[OcrWord]]:
    """Words grouped by Tesseract's line, lines top to bottom, words left to right."""
    grouped: dict[tuple[int, int, int], list[OcrWord]] = {}
    for word in words:
        grouped.setdefault(word.line, []).append(word)
    lines = [sorted(ws, key=lambda w: w.x0) for ws in grouped.values()]
    return sorted(lines, key=lambda ws: min(w.top for w in ws))


def _cells(line: list[OcrWord], gap: float) -> list[_Cell]:
    cells: list[_Cell] = []
    for word in line:
        if cells and word.x0 - cells[-1].x1 < gap:
            last = cells[-1]
            cells[-1] = _Cell(f"{last.text} {word.text}", last.x0, max(last.x1, word.x1))
        else:
            cells.append(_Cell(word.text, word.x0, word.x1))
    return cells


def _place(cells: list[_Cell], bands: list[tuple[int, int]]) -> list[str | None] | None:
    """The line's cells in their columns; None when a cell fits no column or two share one."""
    row: list[str | None] = [None] * len(bands)
    for cell in cells:
        hits = [c for c, (x0, x1) in enumerate(bands) if cell.x0 <= x1 and cell.x1 >= x0]
        if len(hits) != 1 or row[hits[0]] is not None:
            return None
        row[hits[0]] = cell.text
    return row
