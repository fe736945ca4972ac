"""PDF tables that are hard to read, generated with reportlab and asserted cell by cell: cells with
several lines, headers spanning columns and rows, and an unruled table of aligned text."""

from __future__ import annotations

from pathlib import Path

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import ExtractionContext, Table
from tests.samples import make_table_pdfs as samples


def tables_of(path: Path) -> list[Table]:
    data = path.read_bytes()
    ctx = ExtractionContext(path=path, mime_type="application/pdf", file_type="pdf", size_bytes=len(data), sha256="0")
    result = registry.extract(ctx)
    assert result.pdf is not None
    return result.pdf.tables


def test_spanning_header_and_multi_line_cells(tmp_path: Path) -> None:
    [table] = tables_of(samples.spanning_header_table(tmp_path / "spanning.pdf"))
    assert table.kind == "ruled"
    # "2025" spans two columns and "지역" two rows: one label per column, the rows as printed.
    assert table.header == samples.SPANNING_HEADER
    assert table.header_rows == samples.SPANNING_HEADER_ROWS
    # Wrapped cell text stays in its cell (lines joined with a newline), never an extra row.
    assert table.rows == samples.SPANNING_BODY


def test_unruled_table_with_wrapped_cells(tmp_path: Path) -> None:
    [table] = tables_of(samples.unruled_multiline_table(tmp_path / "unruled.pdf"))
    assert table.kind == "unruled"
    assert table.header == samples.UNRULED_HEADER
    assert table.header_rows == []
    assert table.rows == samples.UNRULED_BODY


def test_a_group_label_spanning_data_rows_does_not_make_them_a_header(tmp_path: Path) -> None:
    from tests.samples.make_pdfs import _canvas, _register_font
    from tests.samples.make_table_pdfs import Cell, _grid

    cells = [
        Cell(0, 0, ("분기",)),
        Cell(0, 1, ("월",)),
        Cell(0, 2, ("매출",)),
        Cell(1, 0, ("1분기",), rowspan=3),
        Cell(1, 1, ("1월",)),
        Cell(1, 2, ("100",)),
        Cell(2, 1, ("2월",)),
        Cell(2, 2, ("110",)),
        Cell(3, 1, ("3월",)),
        Cell(3, 2, ("120",)),
    ]
    _register_font()
    path = tmp_path / "grouped.pdf"
    c = _canvas(path, "grouped")
    _grid(c, cells, [72, 150, 220, 300], [750, 730, 710, 690, 670])
    c.showPage()
    c.save()
    [table] = tables_of(path)
    assert table.header == ["분기", "월", "매출"]
    assert table.header_rows == []
    assert table.rows == [["1분기", "1월", "100"], [None, "2월", "110"], [None, "3월", "120"]]


def test_unruled_header_spanning_columns(tmp_path: Path) -> None:
    [table] = tables_of(samples.unruled_spanning_header_table(tmp_path / "unruled_spanning.pdf"))
    assert table.kind == "unruled"
    assert table.header_rows == samples.UNRULED_SPANNING_HEADER_ROWS
    assert table.header == ["지역", "2025 상반기", "2025 하반기", "2026 상반기", "2026 하반기"]
    assert table.rows == [list(r) for r in samples.UNRULED_SPANNING_ROWS[1:]]
