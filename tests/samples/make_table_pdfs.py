"""PDF tables that are hard to read, written where a test asks (tmp_path): cells with several lines
of text, headers spanning columns (and rows), and an unruled table whose columns are only aligned
text. Each function returns the rows a reader should get, cell by cell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.samples.make_pdfs import FONT, _canvas, _register_font


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    lines: tuple[str, ...]
    rowspan: int = 1
    colspan: int = 1


def _grid(c: object, cells: Sequence[Cell], xs: Sequence[float], tops: Sequence[float]) -> None:
    """Each cell's border drawn around its span; text top-left, one line per entry."""
    c.setLineWidth(0.8)  # type: ignore[attr-defined]
    for cell in cells:
        x0, x1 = xs[cell.col], xs[cell.col + cell.colspan]
        y_top, y_bottom = tops[cell.row], tops[cell.row + cell.rowspan]
        c.rect(x0, y_bottom, x1 - x0, y_top - y_bottom)  # type: ignore[attr-defined]
        c.setFont(FONT, 9)  # type: ignore[attr-defined]
        for i, line in enumerate(cell.lines):
            c.drawString(x0 + 4, y_top - 12 - i * 11, line)  # type: ignore[attr-defined]


# Region spans both header rows; each year spans its two half-year columns.
SPANNING_HEADER_CELLS = [
    Cell(0, 0, ("지역",), rowspan=2),
    Cell(0, 1, ("2025",), colspan=2),
    Cell(0, 3, ("2026",), colspan=2),
    Cell(1, 1, ("상반기",)),
    Cell(1, 2, ("하반기",)),
    Cell(1, 3, ("상반기",)),
    Cell(1, 4, ("하반기",)),
    Cell(2, 0, ("서울",)),
    Cell(2, 1, ("120",)),
    Cell(2, 2, ("151",)),
    Cell(2, 3, ("98",)),
    Cell(2, 4, ("87",)),
    Cell(3, 0, ("부산 해운대구", "(센텀시티 지점)")),
    Cell(3, 1, ("143",)),
    Cell(3, 2, ("160",)),
    Cell(3, 3, ("77",)),
    Cell(3, 4, ("102",)),
    Cell(4, 0, ("대구",)),
    Cell(4, 1, ("65",)),
    Cell(4, 2, ("70",)),
    Cell(4, 3, ("비고: 신규", "개점 예정", "(3분기)")),
    Cell(4, 4, ("81",)),
]
SPANNING_HEADER = ["지역", "2025 상반기", "2025 하반기", "2026 상반기", "2026 하반기"]
SPANNING_HEADER_ROWS = [["지역", "2025", "2025", "2026", "2026"], ["지역", "상반기", "하반기", "상반기", "하반기"]]
SPANNING_BODY = [
    ["서울", "120", "151", "98", "87"],
    ["부산 해운대구\n(센텀시티 지점)", "143", "160", "77", "102"],
    ["대구", "65", "70", "비고: 신규\n개점 예정\n(3분기)", "81"],
]


def spanning_header_table(path: Path) -> Path:
    _register_font()
    c = _canvas(path, "spanning header")
    c.setFont(FONT, 14)
    c.drawString(72, 780, "지역별 반기 매출 (단위: 백만원)")
    xs = [72, 182, 252, 322, 392, 462]
    tops = [750, 730, 710, 690, 665, 628]
    _grid(c, SPANNING_HEADER_CELLS, xs, tops)
    c.showPage()
    c.save()
    return path


# An unruled table: columns are where the text lines up; the description wraps onto a second line.
UNRULED_ROWS = [
    ("Code", "Description", "Qty", "Amount"),
    ("A-100", ("Office chair, adjustable", "back and armrests"), "2", "300,000"),
    ("B-200", "Monitor 27 inch", "4", "800,000"),
    ("C-300", ("Desk lamp", "LED, warm white"), "10", "45,000"),
    ("D-400", "Cable set", "25", "12,500"),
]
UNRULED_HEADER = ["Code", "Description", "Qty", "Amount"]
UNRULED_BODY = [
    ["A-100", "Office chair, adjustable\nback and armrests", "2", "300,000"],
    ["B-200", "Monitor 27 inch", "4", "800,000"],
    ["C-300", "Desk lamp\nLED, warm white", "10", "45,000"],
    ["D-400", "Cable set", "25", "12,500"],
]


def unruled_multiline_table(path: Path) -> Path:
    _register_font()
    c = _canvas(path, "unruled table")
    c.setFont(FONT, 12)
    c.drawString(72, 780, "Purchase order 2026-031 (no rules: the columns are aligned text)")
    c.setFont(FONT, 10)
    y = 745.0
    for code, description, qty, amount in UNRULED_ROWS:
        lines = (description,) if isinstance(description, str) else description
        c.drawString(72, y, code)
        for i, line in enumerate(lines):
            c.drawString(150, y - i * 12, line)
        c.drawRightString(340, y, qty)
        c.drawRightString(430, y, amount)
        y -= 12 * len(lines) + 10
    c.drawString(72, y - 14, "Prices in KRW, VAT excluded.")
    c.showPage()
    c.save()
    return path


# An unruled table whose years are centred over their two half-year columns.
UNRULED_SPANNING_ROWS = [
    ("지역", "상반기", "하반기", "상반기", "하반기"),
    ("서울", "120", "151", "98", "87"),
    ("부산", "143", "160", "77", "102"),
    ("대구", "65", "70", "50", "81"),
]
UNRULED_SPANNING_HEADER_ROWS = [
    ["지역", "2025", "2025", "2026", "2026"],
    ["지역", "상반기", "하반기", "상반기", "하반기"],
]


def unruled_spanning_header_table(path: Path) -> Path:
    _register_font()
    c = _canvas(path, "unruled spanning header")
    c.setFont(FONT, 10)
    c.drawString(72, 790, "반기별 매출 (선 없는 표)")
    # each year centred over its two right-aligned columns (right edges 240/300 and 360/420)
    c.drawCentredString(255, 760, "2025")
    c.drawCentredString(375, 760, "2026")
    y = 745.0
    for row in UNRULED_SPANNING_ROWS:
        c.drawString(72, y, row[0])
        for i, value in enumerate(row[1:]):
            c.drawRightString(240 + i * 60, y, value)
        y -= 16
    c.showPage()
    c.save()
    return path
