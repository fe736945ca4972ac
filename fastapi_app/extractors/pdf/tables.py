"""Ruled and unruled tables from page geometry.

Tables use pdfplumber's table finder (edges -> intersections -> cells -> tables), but the edges and
words are read from pdfium rather than from pdfplumber's own pdfminer parse: that parse costs about
200 ms on a dense page, pdfium's a few ms, and it lets a cheap per-page check skip pages with no
table-like geometry at all."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from fastapi_app.extractors.base import Table, not_about_the_file
from fastapi_app.extractors.pdf.text import CONTROL_CHARS

if TYPE_CHECKING:
    import pypdfium2

# A page is only handed to the table finder when its geometry could hold a table: at least this many
# horizontal and vertical rules (a 2x2 grid has 3 of each), or, without rules, this many text lines
# whose runs line up in this many columns. Everything else costs one pass over the page objects.
_MIN_RULES = 3
_MIN_UNRULED_ROWS = 3
_MIN_UNRULED_COLUMNS = 3
_ALIGN_TOLERANCE = 2.0  # pt, for runs sharing a left or right edge
# Vector drawings (maps, charts) can hold hundreds of thousands of segments and are not tables.
_MAX_PATH_SEGMENTS = 20_000
# Chars straddling a cell border are attributed by the larger part, not by a touching sliver.
_CELL_INSET = 1.0
# A header deeper than this is more likely a form than a table header.
_MAX_HEADER_ROWS = 3
# A line whose centre is within this many line heights of the line above continues its row
# (wrapped cell text) rather than starting a new one.
_CONTINUATION_LEADING = 1.6
_NUMBER = re.compile(r"[-+(]?[\d.,%₩$€\s]*\d[\d.,%)\s]*")

_RULED_SETTINGS: dict[str, Any] = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
_UNRULED_SETTINGS: dict[str, Any] = {
    "vertical_strategy": "text",
    "horizontal_strategy": "text",
    "min_words_vertical": _MIN_UNRULED_ROWS,
}

Edge = dict[str, Any]
Matrix = tuple[float, float, float, float, float, float]


class _Geometry:
    """The part of a pdfplumber Page that its TableFinder reads, filled from pdfium."""

    def __init__(self, bbox: tuple[float, float, float, float], edges: list[Edge], words: list[Edge]) -> None:
        self.bbox = bbox
        self.edges = edges
        self._words = words

    def extract_words(self, **_: Any) -> list[Edge]:
        return self._words


def find_page_tables(
    page: pypdfium2.PdfPage, textpage: pypdfium2.PdfTextPage, number: int, tables: list[Table]
) -> bool:
    """Appends the page's tables; False when the page's geometry could not be read."""
    try:
        left, _, right, top = page.get_cropbox()
        box = (0.0, 0.0, right - left, top - page.get_cropbox()[1])
        found: list[tuple[Literal["ruled", "unruled"], Any]] = []
        edges = _rule_edges(page, left, top)
        if edges is not None and _has_grid(edges):
            found = [("ruled", t) for t in _table_finder(_Geometry(box, edges, []), _RULED_SETTINGS)]
        runs: list[Edge] = []
        if not found:
            runs = _text_runs(textpage, left, top)
            for block in _tabular_blocks(runs):
                found += [("unruled", t) for t in _table_finder(_Geometry(box, [], block), _UNRULED_SETTINGS)]
        for kind, table in found:
            rows = _table_rows(table, textpage, left, top)
            header_count, header_rows = 1, []
            if kind == "unruled":
                # the text strategy rules both the top and the bottom of each line, leaving empty
                # rows for the gaps between lines
                rows = _join_continuation_lines([row for row in rows if any(row)])
                labels = _labels_spanning_columns(table, runs, textpage, left, top)
                if labels and rows:
                    header_rows = [[label or below for label, below in zip(labels, rows[0], strict=False)], rows[0]]
            else:
                header_count, header_rows = _spanning_header(rows, _span_owners(table))
            if len(rows) < 2 or max(len(r) for r in rows) < 2:
                continue  # a framed paragraph or a single rule pair, not a table
            header = _column_labels(header_rows) if header_rows else rows[0]
            tables.append(
                Table(
                    page=number,
                    index=sum(1 for t in tables if t.page == number),
                    kind=kind,
                    bbox=tuple(round(v, 2) for v in table.bbox),
                    header=header,
                    header_rows=header_rows,
                    rows=rows[header_count:],
                )
            )
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return False
    return True


def _table_finder(geometry: _Geometry, settings: dict[str, Any]) -> list[Any]:
    from pdfplumber.table import TableFinder

    return list(TableFinder(geometry, settings).tables)  # type: ignore[arg-type]


def _table_rows(table: Any, textpage: pypdfium2.PdfTextPage, left: float, top: float) -> list[list[str | None]]:
    rows: list[list[str | None]] = []
    for row in table.rows:
        cells: list[str | None] = []
        for cell in row.cells:
            if cell is None:
                cells.append(None)
                continue
            x0, y_top, x1, y_bottom = cell
            text = textpage.get_text_bounded(
                left + x0 + _CELL_INSET,
                top - y_bottom + _CELL_INSET,
                left + x1 - _CELL_INSET,
                top - y_top - _CELL_INSET,
            )
            lines = (line.strip() for line in CONTROL_CHARS.sub("", text.replace("\r\n", "\n")).split("\n"))
            cells.append("\n".join(line for line in lines if line) or None)
        rows.append(cells)
    return rows


Owner = tuple[int, int] | None


def _span_owners(table: Any) -> list[list[Owner]]:
    """For each grid position a merged cell covers (but does not start at), the (row, column)
    where that cell starts; None elsewhere. The grid is pdfplumber's: rows by cell top, columns by
    cell left edge, which is how ``table.rows`` lays its cells out."""
    xs = sorted({cell[0] for cell in table.cells})
    tops = sorted({cell[1] for cell in table.cells})
    owners: list[list[Owner]] = [[None] * len(xs) for _ in tops]
    for x0, y_top, x1, y_bottom in table.cells:
        r0, c0 = tops.index(y_top), xs.index(x0)
        for r in range(r0, len(tops)):
            if tops[r] >= y_bottom - 0.5:
                break
            for c in range(c0, len(xs)):
                if xs[c] >= x1 - 0.5:
                    break
                if (r, c) != (r0, c0):
                    owners[r][c] = (r0, c0)
    return owners


def _spanning_header(rows: list[list[str | None]], owners: list[list[Owner]]) -> tuple[int, list[list[str | None]]]:
    """How many rows the header takes, and those rows with each spanned position filled from its
    spanning cell; (1, []) for a plain one-row header. A first-row cell spanning columns ("2025"
    over "상반기 | 하반기") or rows ("지역" beside both) makes the header as deep as its spans, as
    long as the rows it takes in hold labels, not numbers (a group label spanning data rows does
    not make them a header)."""
    if len(rows) < 3 or len(owners) != len(rows):
        return 1, []
    depth = 2 if any(o is not None for o in owners[0]) else 1
    for r in range(1, min(len(owners), _MAX_HEADER_ROWS)):
        if any(o is not None and o[0] == 0 for o in owners[r]):
            depth = max(depth, r + 1)
    depth = min(depth, _MAX_HEADER_ROWS, len(rows) - 1)
    while depth > 1 and any(_NUMBER.fullmatch(cell or "") for cell in rows[depth - 1]):
        depth -= 1
    if depth < 2 and not any(o is not None for o in owners[0]):
        return 1, []
    filled: list[list[str | None]] = []
    for r in range(depth):
        row: list[str | None] = []
        for c, value in enumerate(rows[r]):
            owner = owners[r][c] if c < len(owners[r]) else None
            row.append(rows[owner[0]][owner[1]] if owner is not None else value)
        filled.append(row)
    return depth, filled


def _labels_spanning_columns(
    table: Any, runs: list[Edge], textpage: pypdfium2.PdfTextPage, left: float, top: float
) -> list[str | None]:
    """Labels on the line just above an unruled table that are each centred over two or more of its
    columns ("2025" over "상반기  하반기"), one per column they span; [] when there is no such line."""
    x0, y_top, x1, _ = table.bbox
    starts = sorted({cell[0] for cell in table.cells})
    edges = [*starts, x1]
    columns = [(edges[i], edges[i + 1]) for i in range(len(starts))]
    above = [r for r in runs if r["bottom"] <= y_top + 0.5 and r["x0"] >= x0 - 2 and r["x1"] <= x1 + 2]
    if not above or len(columns) < 3:
        return []
    nearest = max(r["bottom"] for r in above)
    line = [r for r in above if abs(r["bottom"] - nearest) < 1]
    if y_top - nearest > _CONTINUATION_LEADING * max(r["height"] for r in line) or len(line) >= len(columns):
        return []
    labels: list[str | None] = [None] * len(columns)
    for run in line:
        centre = (run["x0"] + run["x1"]) / 2
        span = _centred_span(columns, centre, run["x1"] - run["x0"])
        if span is None:
            return []  # a line that is not all spanning labels is not a header line
        text = textpage.get_text_bounded(left + run["x0"], top - run["bottom"], left + run["x1"], top - run["top"])
        text = CONTROL_CHARS.sub("", text).strip()
        for c in range(span[0], span[1] + 1):
            labels[c] = text or None
    return labels


def _centred_span(columns: list[tuple[float, float]], centre: float, width: float) -> tuple[int, int] | None:
    """The fewest adjacent columns (two or more) that a label of this width is centred over."""
    for count in range(2, len(columns) + 1):
        for first in range(len(columns) - count + 1):
            x0, x1 = columns[first][0], columns[first + count - 1][1]
            if width <= (x1 - x0) + 2 and abs((x0 + x1) / 2 - centre) <= 0.2 * (x1 - x0):
                return first, first + count - 1
    return None


def _column_labels(header_rows: list[list[str | None]]) -> list[str | None]:
    """One label per column: the header rows' texts top to bottom, a spanning label once."""
    labels: list[str | None] = []
    for c in range(max(len(r) for r in header_rows)):
        parts: list[str] = []
        for row in header_rows:
            text = row[c] if c < len(row) else None
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        labels.append(" ".join(parts) or None)
    return labels


def _join_continuation_lines(rows: list[list[str | None]]) -> list[list[str | None]]:
    """An unruled table puts each line of text in a row of its own, so a cell wrapped onto a second
    line looks like an extra row with its first column empty and most others too; such a row is
    joined into the one above, cell by cell."""
    joined: list[list[str | None]] = []
    for row in rows:
        filled = sum(1 for cell in row if cell)
        if joined and not row[0] and 0 < filled <= max(1, len(row) // 2) and len(row) == len(joined[-1]):
            above = joined[-1]
            for i, cell in enumerate(row):
                if cell:
                    above[i] = f"{above[i]}\n{cell}" if above[i] else cell
            continue
        joined.append(list(row))
    return joined


def _has_grid(edges: list[Edge]) -> bool:
    horizontal = sum(1 for e in edges if e["orientation"] == "h" and e["width"] >= 3)
    vertical = sum(1 for e in edges if e["orientation"] == "v" and e["height"] >= 3)
    return horizontal >= _MIN_RULES and vertical >= _MIN_RULES


def _rule_edges(page: pypdfium2.PdfPage, left: float, top: float) -> list[Edge] | None:
    """Horizontal and vertical segments of every path on the page (inside forms too), in
    pdfplumber's top-left coordinates; None when the page is a drawing too large to be a table."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    edges: list[Edge] = []
    budget = _MAX_PATH_SEGMENTS
    x = ctypes.c_float()
    y = ctypes.c_float()
    fs_matrix = pdfium_c.FS_MATRIX()

    def own_matrix(obj: Any) -> Matrix:
        if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(fs_matrix)):
            return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        m = fs_matrix
        return (m.a, m.b, m.c, m.d, m.e, m.f)

    def add_edge(p0: tuple[float, float], p1: tuple[float, float]) -> None:
        (ax, ay), (bx, by) = p0, p1
        if abs(ay - by) < 0.05 and abs(ax - bx) >= 1:
            y_top = top - ay
            x0, x1 = sorted((ax - left, bx - left))
            edges.append(_edge("h", x0, x1, y_top, y_top))
        elif abs(ax - bx) < 0.05 and abs(ay - by) >= 1:
            t0, t1 = sorted((top - ay, top - by))
            edges.append(_edge("v", ax - left, ax - left, t0, t1))

    def path_edges(obj: Any, m: Matrix) -> None:
        nonlocal budget
        count = pdfium_c.FPDFPath_CountSegments(obj)
        budget -= count
        if budget < 0:
            raise _TooManyPaths
        start: tuple[float, float] | None = None
        prev: tuple[float, float] | None = None
        for j in range(count):
            segment = pdfium_c.FPDFPath_GetPathSegment(obj, j)
            pdfium_c.FPDFPathSegment_GetPoint(segment, ctypes.byref(x), ctypes.byref(y))
            point = (x.value * m[0] + y.value * m[2] + m[4], x.value * m[1] + y.value * m[3] + m[5])
            if pdfium_c.FPDFPathSegment_GetType(segment) == pdfium_c.FPDF_SEGMENT_MOVETO or prev is None:
                start = prev = point
                continue
            add_edge(prev, point)
            prev = point
            if pdfium_c.FPDFPathSegment_GetClose(segment) and start is not None:
                add_edge(point, start)
                prev = start

    def walk(count: int, get: Any, parent: Matrix | None, depth: int) -> None:
        for i in range(count):
            obj = get(i)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
                path_edges(obj, _compose(own_matrix(obj), parent))
            elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < 8:
                form = _compose(own_matrix(obj), parent)
                children = pdfium_c.FPDFFormObj_CountObjects(obj)
                walk(children, lambda k, o=obj: pdfium_c.FPDFFormObj_GetObject(o, k), form, depth + 1)

    try:
        walk(pdfium_c.FPDFPage_CountObjects(page), lambda k: pdfium_c.FPDFPage_GetObject(page, k), None, 0)
    except _TooManyPaths:
        return None
    return edges


def _edge(orientation: str, x0: float, x1: float, top: float, bottom: float) -> Edge:
    return {
        "object_type": "line",
        "orientation": orientation,
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "doctop": top,
        "width": x1 - x0,
        "height": bottom - top,
    }


class _TooManyPaths(Exception):
    pass


def _compose(child: Matrix, parent: Matrix | None) -> Matrix:
    """child then parent, in PDF's row-vector convention."""
    if parent is None:
        return child
    a1, b1, c1, d1, e1, f1 = child
    a2, b2, c2, d2, e2, f2 = parent
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _text_runs(textpage: pypdfium2.PdfTextPage, left: float, top: float) -> list[Edge]:
    """pdfium's text rectangles (one per run of text on a line, so a table cell rather than a
    word), as pdfplumber word dicts."""
    runs: list[Edge] = []
    for i in range(textpage.count_rects()):
        r_left, r_bottom, r_right, r_top = textpage.get_rect(i)
        if r_right - r_left <= 0 or r_top - r_bottom <= 0:
            continue
        x0, x1 = r_left - left, r_right - left
        y0, y1 = top - r_top, top - r_bottom
        runs.append({"x0": x0, "x1": x1, "top": y0, "bottom": y1, "doctop": y0, "width": x1 - x0, "height": y1 - y0})
    return runs


def _tabular_blocks(runs: list[Edge]) -> list[list[Edge]]:
    """Groups of consecutive text lines whose runs line up in columns, plus the line above each
    group (a header is often centred over right-aligned numbers, so it does not line up itself)."""
    lines: list[list[Edge]] = []
    for run in sorted(runs, key=lambda r: (r["top"] + r["bottom"]) / 2):
        centre = (run["top"] + run["bottom"]) / 2
        if lines:
            last = lines[-1][0]
            if abs((last["top"] + last["bottom"]) / 2 - centre) <= min(last["height"], run["height"]) / 2:
                lines[-1].append(run)
                continue
        lines.append([run])
    multi = [i for i, line in enumerate(lines) if len(line) >= 2]
    if len(multi) < _MIN_UNRULED_ROWS:
        return []

    def anchored(edge: str) -> list[float]:
        values = sorted(r[edge] for i in multi for r in lines[i])
        anchors: list[float] = []
        group: list[float] = []
        for value in values:
            if group and value - group[-1] > _ALIGN_TOLERANCE:
                if len(group) >= _MIN_UNRULED_ROWS:
                    anchors.append(sum(group) / len(group))
                group = []
            group.append(value)
        if len(group) >= _MIN_UNRULED_ROWS:
            anchors.append(sum(group) / len(group))
        return anchors

    lefts, rights = anchored("x0"), anchored("x1")

    def aligned(run: Edge) -> bool:
        return any(abs(run["x0"] - a) <= _ALIGN_TOLERANCE for a in lefts) or any(
            abs(run["x1"] - a) <= _ALIGN_TOLERANCE for a in rights
        )

    tabular = [sum(1 for r in line if aligned(r)) >= _MIN_UNRULED_COLUMNS for line in lines]

    def centre(line: list[Edge]) -> float:
        return sum((r["top"] + r["bottom"]) / 2 for r in line) / len(line)

    def continues(j: int) -> bool:
        """A wrapped cell's next line: every run on a column edge, close under the line above."""
        line, above = lines[j], lines[j - 1]
        height = max(r["height"] for r in [*line, *above])
        close = centre(line) - centre(above) <= _CONTINUATION_LEADING * height
        return close and len(line) < _MIN_UNRULED_COLUMNS and all(aligned(r) for r in line)

    blocks: list[list[Edge]] = []
    i = 0
    while i < len(lines):
        if not tabular[i]:
            i += 1
            continue
        j = i
        while j < len(lines) and (tabular[j] or continues(j)):
            j += 1
        if j - i >= _MIN_UNRULED_ROWS:
            first = i - 1 if i > 0 and len(lines[i - 1]) >= 2 else i
            blocks.append([run for line in lines[first:j] for run in line])
        i = j
    return blocks
