"""Spreadsheet facts: tables, formulas (cached values), dates, encryption, CSV encodings.

Samples are in tests/samples/sheets/ (made by tests/samples/make_workbooks.py; facts in
tests/samples/README.md). Small variations are built in tmp_path.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from fastapi_app.extractors import spreadsheet
from fastapi_app.extractors.base import (
    ColumnSummary,
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    Sheet,
    SpreadsheetContent,
    Table,
    UnsupportedContentError,
)
from tests.support.corpus import corpus_path

SHEETS = Path(__file__).resolve().parents[1] / "samples" / "sheets"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def run(path: Path, mime: str = XLSX_MIME, **overrides: Any) -> ExtractionResult:
    data = path.read_bytes()
    ctx = ExtractionContext(
        path=path,
        mime_type=mime,
        file_type="excel",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        **overrides,
    )
    return spreadsheet.extract(ctx)


def book(name: str, mime: str = XLSX_MIME) -> SpreadsheetContent:
    result = run(SHEETS / name, mime)
    assert result.spreadsheet is not None
    return result.spreadsheet


def sheet(content: SpreadsheetContent, name: str) -> Sheet:
    return next(s for s in content.sheets if s.name == name)


def cell(target: Sheet, ref: str) -> Any:
    match = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    assert match
    col = 0
    for char in match.group(1):
        col = col * 26 + ord(char) - 64
    return target.rows[int(match.group(2)) - 1][col - 1]


def record(table: Table, first: Any) -> dict[Any, Any]:
    """The table row whose first cell is ``first``, keyed by the header."""
    row = next(r for r in table.rows if r[0] == first)
    return dict(zip(table.header, row, strict=True))


def column(target: Sheet | list[ColumnSummary], header: str) -> ColumnSummary:
    columns = target.columns if isinstance(target, Sheet) else target
    return next(c for c in columns if c.header == header)


# --- sales_multisheet.xlsx -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sales() -> SpreadsheetContent:
    return book("sales_multisheet.xlsx")


def test_sales_table_values_and_cached_formulas(sales: SpreadsheetContent) -> None:
    sales_sheet = sheet(sales, "매출")
    [table] = sales_sheet.tables
    assert (table.sheet, table.index, table.kind, table.cell_range) == ("매출", 0, "sheet", "A3:E8")
    assert table.header == ["Region/지역", "Q1", "Q2", "Q3", "합계"]
    assert record(table, "North")["Q2"] == 151
    assert record(table, "North")["합계"] == 404  # =SUM(B4:D4), the value Excel cached
    assert record(table, "합계") == {"Region/지역": "합계", "Q1": 448, "Q2": 487, "Q3": 504, "합계": 1439}
    assert cell(sales_sheet, "C4") == 151
    assert isinstance(cell(sales_sheet, "E4"), int)
    assert sales_sheet.header_row == 3


def test_sales_summaries_leave_out_the_total_row(sales: SpreadsheetContent) -> None:
    q2 = column(sheet(sales, "매출"), "Q2")
    assert (q2.column, q2.type, q2.count, q2.sum, q2.min, q2.max) == ("C", "number", 4, 487, 92, 151)
    assert column(sheet(sales, "매출"), "Region/지역").type == "text"


def test_sales_title_merge_and_formula_counts(sales: SpreadsheetContent) -> None:
    sales_sheet = sheet(sales, "매출")
    assert sales_sheet.merged_ranges == ["A1:E1"]
    assert cell(sales_sheet, "A1") == "2026년 1분기 지역별 매출"
    assert sales_sheet.formula_count == 8
    assert sales.formula_count == 8
    assert sheet(sales, "일정").formula_count == 0


def test_sales_sheet_visibility_and_kinds(sales: SpreadsheetContent) -> None:
    facts = {s.name: (s.visibility, s.kind) for s in sales.sheets}
    assert facts == {
        "매출": ("visible", "worksheet"),
        "일정": ("visible", "worksheet"),
        "원본": ("hidden", "worksheet"),
        "설정": ("very_hidden", "worksheet"),
        "차트": ("visible", "chartsheet"),
    }
    assert sales.sheet_count == 5
    assert cell(sheet(sales, "원본"), "B2") == 151
    assert cell(sheet(sales, "설정"), "A1") == "very hidden setting"


def test_sales_defined_names_are_workbook_level(sales: SpreadsheetContent) -> None:
    assert sorted(sales.defined_names) == ["Regions", "SalesTotal"]  # the sheet-scoped LocalOnly is not
    assert sales.has_vba is False
    assert (sales.format, sales.date_system) == ("xlsx", "1900")


def test_dates_times_and_durations(sales: SpreadsheetContent) -> None:
    plan = sheet(sales, "일정")
    [table] = plan.tables
    assert table.header == ["작업", "날짜", "시작", "시각", "소요시간"]
    assert record(table, "착수") == {
        "작업": "착수",
        "날짜": "2026-03-15",
        "시작": "2026-03-15T09:30:00",
        "시각": "09:30:00",
        "소요시간": "PT1H30M",  # [h]:mm formatted 1.5/24
    }
    assert record(table, "중간 점검")["소요시간"] == "PT26H15M"  # 26:15 in [h]:mm: elapsed hours, not a day
    assert record(table, "완료")["시작"] == "2026-06-30T18:45:30"
    types = {c.header: c.type for c in plan.columns}
    assert types == {"작업": "text", "날짜": "date", "시작": "datetime", "시각": "time", "소요시간": "duration"}


# --- date1904.xlsx ---------------------------------------------------------------------------


def test_1904_date_system_gives_the_same_iso_dates() -> None:
    content = book("date1904.xlsx")
    assert content.date_system == "1904"
    dates = content.sheets[0]
    assert [cell(dates, r) for r in ("B2", "C2")] == ["2026-03-15", "2026-03-15T14:30:00"]
    assert [cell(dates, r) for r in ("B3", "C3")] == ["1904-01-02", "1999-12-31T23:59:59"]


def test_1900_and_1904_workbooks_agree(tmp_path: Path) -> None:
    import xlsxwriter

    values = [date(2026, 3, 15), datetime(2026, 3, 15, 14, 30), date(1999, 12, 31)]
    found = []
    for system in (False, True):
        path = tmp_path / f"d{int(system)}.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"date_1904": system})
        ws = wb.add_worksheet()
        fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        for row, value in enumerate(values):
            ws.write_datetime(row, 0, value, fmt)
        wb.close()
        content = run(path).spreadsheet
        assert content is not None
        found.append((content.date_system, [r[0] for r in content.sheets[0].rows]))
    assert found == [
        ("1900", ["2026-03-15", "2026-03-15T14:30:00", "1999-12-31"]),
        ("1904", ["2026-03-15", "2026-03-15T14:30:00", "1999-12-31"]),
    ]


# --- invoice_kv.xlsx -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def invoice() -> Sheet:
    return book("invoice_kv.xlsx").sheets[0]


def test_invoice_key_values_are_not_a_table(invoice: Sheet) -> None:
    [table] = invoice.tables  # the label/value block above is not one
    assert table.cell_range == "A6:D9"
    assert table.header == ["품목", "수량", "단가", "금액"]
    assert table.rows[:2] == [["사무용 의자", 2, 150000, 300000], ["모니터", 4, 200000, 800000]]
    assert table.rows[2][0] == "합계 금액"
    assert table.rows[2][3] == 1_100_000
    assert invoice.header_row == 6


def test_invoice_key_values_stay_in_rows(invoice: Sheet) -> None:
    pairs = {row[0]: row[1] for row in invoice.rows[:4]}
    assert pairs == {
        "송장번호": "INV-2026-0315",
        "공급자": "주식회사 한빛상사",
        "사업자등록번호": "220-81-62517",
        "발행일": "2026-03-15",
    }


def test_invoice_amount_column_sums_to_the_total(invoice: Sheet) -> None:
    amount = column(invoice, "금액")
    assert (amount.column, amount.type, amount.count) == ("D", "number", 2)
    assert amount.sum == 1_100_000
    assert column(invoice, "수량").sum == 6
    assert invoice.formula_count == 3  # two line amounts and the total, all protected-sheet cells


def test_key_values_directly_above_a_table(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "kv.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row("A1", ["송장번호", "INV-1"])
    ws.write_row("A2", ["발행일", 46096])
    ws.write_row("A3", ["품목", "수량", "단가", "금액"])
    ws.write_row("A4", ["의자", 2, 10, 20])
    ws.write_row("A5", ["책상", 1, 30, 30])
    wb.close()
    content = run(path).spreadsheet
    assert content is not None
    [table] = content.sheets[0].tables
    assert (table.cell_range, table.header) == ("A3:D5", ["품목", "수량", "단가", "금액"])
    assert column(content.sheets[0], "금액").sum == 50


def test_tables_side_by_side_and_stacked(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "blocks.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    ws.write_row("A1", ["이름", "점수"])
    for offset, (name, score) in enumerate([("가", 1), ("나", 2), ("다", 3), ("라", 4)], start=1):
        ws.write_row(offset, 0, [name, score])
    ws.write_row("D1", ["품목", "수량", "금액"])
    ws.write_row("D2", ["펜", 3, 1500])
    ws.write_row("A8", ["월", "매출", "비용"])
    ws.write_row("A9", ["1월", 100, 70])
    ws.write_row("A10", ["2월", 120, 80])
    wb.close()
    content = run(path).spreadsheet
    assert content is not None
    tables = content.sheets[0].tables
    assert [(t.index, t.cell_range, t.header) for t in tables] == [
        (0, "A1:B5", ["이름", "점수"]),
        (1, "D1:F2", ["품목", "수량", "금액"]),
        (2, "A8:C10", ["월", "매출", "비용"]),
    ]
    assert tables[1].rows == [["펜", 3, 1500]]
    # Sheet.columns describe the largest table (A1:B5, 10 cells).
    assert [(c.column, c.header, c.sum) for c in content.sheets[0].columns] == [("A", "이름", None), ("B", "점수", 10)]


# --- formulas, errors, names, macros ---------------------------------------------------------


def test_cached_error_values_and_booleans(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "errors.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_formula("A1", "=1/0", None, "#DIV/0!")
    ws.write_formula("B1", "=2*3", None, 6)
    ws.write_formula("C1", "=1=1", None, True)
    ws.write_formula("D1", '="x"&"y"', None, "xy")
    wb.close()
    content = run(path).spreadsheet
    assert content is not None
    assert content.sheets[0].rows == [["#DIV/0!", 6, True, "xy"]]
    assert content.formula_count == 4


def test_vba_project_in_xlsm_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "macro.xlsm"
    shutil.copy(SHEETS / "invoice_kv.xlsx", path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not run, only noticed")
    content = run(path, "application/vnd.ms-excel.sheet.macroenabled.12").spreadsheet
    assert content is not None
    assert (content.format, content.has_vba) == ("xlsm", True)
    assert content.sheets[0].tables[0].header == ["품목", "수량", "단가", "금액"]


def test_corpus_xls_defined_names_vba_and_formulas() -> None:
    content = run(corpus_path("vba_defined_names_multisheet.xls"), "application/vnd.ms-excel").spreadsheet
    assert content is not None
    assert sorted(content.defined_names) == ["MyBrokenRange", "MyDataTypes", "OneRange"]
    assert content.has_vba is True
    assert sheet(content, "Sheet1").formula_count == 1  # B1+OneRange
    assert sheet(content, "issue2").formula_count == 0
    assert content.formula_count == sum(s.formula_count for s in content.sheets)


def test_corpus_xls_formula_results() -> None:
    content = run(corpus_path("formulas_cyrillic.xls"), "application/vnd.ms-excel").spreadsheet
    assert content is not None
    first = content.sheets[0]
    assert first.formula_count == 6  # B3..B8
    assert [cell(first, r) for r in ("B3", "B6", "B7")] == [0.14285714285714285, True, "#DIV/0!"]
    assert content.has_vba is False


def test_corpus_xlsx_shared_formulas_are_counted() -> None:
    content = run(corpus_path("korean_text_in_formulas.xlsx")).spreadsheet
    assert content is not None
    assert content.sheets[0].formula_count == 19  # B2:B20, one shared formula
    assert content.has_vba is False


# --- CSV -------------------------------------------------------------------------------------


def test_cp949_csv_reads_back_exactly() -> None:
    path = SHEETS / "korean_cp949.csv"
    content = book("korean_cp949.csv", "text/csv")
    text = path.read_bytes().decode("cp949")
    assert content.csv_encoding == "cp949"
    assert content.sheets[0].rows == [line.split(",") for line in text.splitlines()]
    assert content.sheets[0].rows[3][0] == "똠얌꿍 햏"  # cp949-only syllables survive
    assert column(content.sheets[0], "금액").sum == 1_105_000
    assert content.sheets[0].tables[0].header == ["품목", "수량", "단가", "금액"]


def test_semicolon_csv_with_bom_and_decimal_commas() -> None:
    content = book("semicolon_utf8bom.csv", "text/csv")
    assert (content.csv_encoding, content.csv_delimiter) == ("utf-8-sig", ";")
    assert content.sheets[0].rows[1] == ["김철수", "1234,5", "메모; 세미콜론 포함"]
    amount = column(content.sheets[0], "금액")
    assert (amount.type, amount.sum, amount.min) == ("number", 1135.25, -99.25)


# --- failures --------------------------------------------------------------------------------


def test_encrypted_xlsx_is_encrypted_file() -> None:
    with pytest.raises(EncryptedFileError) as caught:
        run(SHEETS / "encrypted.xlsx")
    assert caught.value.error_code == "ENCRYPTED_FILE"


def test_truncated_zip_is_corrupt_file() -> None:
    with pytest.raises(CorruptFileError) as caught:
        run(SHEETS / "truncated.xlsx")
    assert caught.value.error_code == "CORRUPT_FILE"


def test_png_named_xlsx_is_rejected_by_content() -> None:
    with pytest.raises(UnsupportedContentError, match="PNG"):
        run(SHEETS / "png_named.xlsx")


def test_ole_name_inside_cell_text_is_not_a_stream(tmp_path: Path) -> None:
    # "EncryptedPackage" as UTF-16 at an offset no directory entry can start at.
    path = tmp_path / "odd.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 502 + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(CorruptFileError):
        run(path, "application/vnd.ms-excel")


# --- limits ----------------------------------------------------------------------------------


def test_row_cap_keeps_summaries_exact(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "many.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["n", "label"])
    for n in range(1, 1001):
        ws.write_row(n, 0, [n, f"row {n}"])
    wb.close()
    result = run(path, max_cells=200)
    assert result.spreadsheet is not None
    data = result.spreadsheet.sheets[0]
    assert (data.row_count, len(data.rows), data.rows_truncated) == (1001, 100, True)
    assert column(data, "n").sum == 500_500  # all 1000 values, not just the kept rows
    assert column(data, "n").max == 1000
    assert data.tables[0].cell_range == "A1:B1001"
    assert len(data.tables[0].rows) == 99
    assert "CELL_LIMIT" in [w.code for w in result.warnings]


def test_model_round_trips_as_json() -> None:
    result = run(SHEETS / "sales_multisheet.xlsx")
    again = ExtractionResult.model_validate_json(result.model_dump_json())
    assert again.spreadsheet is not None
    assert again.spreadsheet.sheets[0].tables[0].rows[0] == ["North", 120, 151, 133, 404]
