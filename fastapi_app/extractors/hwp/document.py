"""What both readers (HWP 5.0 and HWPX) fill: the body in reading order, tables, headers and footers,
notes and fields; and how that becomes an ``ExtractionResult``.

The result's ``text`` is the body, followed by the headers, footers and notes, each under a label of
its own, so entities and key values are found in all of it and a reader still sees what is not body
text. ``hwp.sections`` keeps the body text alone.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi_app.extractors.base import (
    ExtractionContext,
    ExtractionResult,
    HwpContent,
    HwpField,
    HwpNote,
    HwpSection,
    Table,
)

# A table may declare any size; the grid is only as large as the cells it really has, and no larger
# than this (a damaged or hostile file must not allocate millions of empty cells).
MAX_TABLE_CELLS = 1_000_000
_BLANK_RUNS = re.compile(r"\n{3,}")


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Reading a section makes tens of thousands of small objects and no cycles: the cyclic collector
    would run hundreds of times over them for nothing (a third of the time of a large document)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(slots=True)
class Cell:
    row: int
    col: int
    text: str
    row_span: int = 1
    col_span: int = 1


def table_grid(cells: list[Cell], declared_rows: int, declared_cols: int) -> list[list[str]]:
    """Rows x columns of cell text; a merged cell's text sits at its top-left position, and the
    positions it covers are empty."""
    if not cells:
        return []
    # One pass over the cells (a span below 1 counts as 1); a large document has thousands of cells.
    rows = cols = last_row = last_col = 0
    for c in cells:
        row, col = c.row, c.col
        rows = max(rows, row + (c.row_span if c.row_span > 1 else 1))
        cols = max(cols, col + (c.col_span if c.col_span > 1 else 1))
        if row > last_row:
            last_row = row
        if col > last_col:
            last_col = col
    if declared_rows > 0:
        rows = min(rows, max(declared_rows, last_row + 1))
    if declared_cols > 0:
        cols = min(cols, max(declared_cols, last_col + 1))
    if rows * cols > MAX_TABLE_CELLS:
        rows = max(1, MAX_TABLE_CELLS // max(cols, 1))
    grid = [[""] * cols for _ in range(rows)]
    for cell in cells:
        if 0 <= cell.row < rows and 0 <= cell.col < cols:
            grid[cell.row][cell.col] = cell.text
    return grid


def table_text(grid: list[list[str]]) -> str:
    """A table in the body text: one line per row, cells separated by tabs; nothing for a table
    with no text at all."""
    # A row joined by tabs has no line break but the cells' own: replacing them in the joined row is
    # the same as in each cell. The table has no text exactly when all of it is whitespace.
    text = "\n".join(["\t".join(row).replace("\n", " ") for row in grid])
    return text if text and not text.isspace() else ""


def join_blocks(blocks: list[str]) -> str:
    """Paragraphs of a cell, note, header or text box: the non-empty ones, one per line."""
    if len(blocks) == 1:  # most table cells: one paragraph
        return blocks[0].strip()
    return "\n".join(filter(None, map(str.strip, blocks)))


@dataclass(slots=True)
class DocumentBuilder:
    sections: list[list[str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    footers: list[str] = field(default_factory=list)
    notes: list[HwpNote] = field(default_factory=list)
    fields: list[HwpField] = field(default_factory=list)

    def new_section(self) -> int:
        self.sections.append([])
        return len(self.sections) - 1

    def body(self, section: int, blocks: list[str]) -> None:
        self.sections[section].extend(blocks)

    def reserve_table(self) -> int:
        """A table's index is taken when it starts, so an outer table comes before the ones in its cells."""
        self.tables.append(Table(index=len(self.tables)))
        return len(self.tables) - 1

    def fill_table(self, index: int, grid: list[list[str]]) -> None:
        table = self.tables[index]
        if grid:
            table.header = grid[0]
            table.rows = grid[1:]

    def note(self, kind: str, section: int, text: str) -> None:
        number = 1 + sum(1 for n in self.notes if n.kind == kind)
        self.notes.append(HwpNote(kind=kind, number=number, section=section, text=text))  # type: ignore[arg-type]

    def header_footer(self, kind: str, text: str) -> None:
        if text:
            (self.headers if kind == "header" else self.footers).append(text)

    def result(self, ctx: ExtractionContext, content: HwpContent) -> ExtractionResult:
        section_texts = [_tidy("\n".join(blocks)) for blocks in self.sections]
        content.sections = [
            HwpSection(index=i, text=text, paragraph_count=len(blocks))
            for i, (text, blocks) in enumerate(zip(section_texts, self.sections, strict=True))
        ]
        content.section_count = content.section_count or len(self.sections)
        content.tables = self.tables
        content.headers = self.headers
        content.footers = self.footers
        content.notes = self.notes
        content.fields = self.fields
        labelled = [f"[머리말 / Header] {text}" for text in _unique(self.headers)]
        labelled += [f"[꼬리말 / Footer] {text}" for text in _unique(self.footers)]
        labelled += [
            f"[{'각주' if n.kind == 'footnote' else '미주'} {n.number} / {n.kind.capitalize()} {n.number}] {n.text}"
            for n in self.notes
        ]
        parts = [text for text in section_texts if text]
        if labelled:
            parts.append("\n".join(labelled))
        result = ExtractionResult.for_context(ctx)
        result.text = "\n\n".join(parts)
        result.hwp = content
        return result


def _tidy(text: str) -> str:
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _unique(values: list[str]) -> list[str]:
    """Odd/even-page headers often repeat the same text: list it once."""
    return list(dict.fromkeys(values))
