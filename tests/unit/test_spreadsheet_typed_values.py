"""Durations, times of day and formulas without cached values, in workbooks built with openpyxl
(which writes formulas without results, as most scripts do), in both date systems."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import ExtractionContext, ExtractionResult, Sheet
from tests.support.corpus import corpus_path

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def extract(path: Path, mime: str = XLSX) -> ExtractionResult:
    data = path.read_bytes()
    supported = registry.supported_type(mime)
    assert supported is not None
    ctx = ExtractionContext(
        path=path,
        mime_type=mime,
        file_type=supported.family,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return registry.extract(ctx)


def cell(sheet: Sheet, ref: str) -> Any:
    col = ord(ref[0]) - 64
    row = int(ref[1:])
    return sheet.rows[row - 1][col - 1] if row <= len(sheet.rows) and col <= len(sheet.rows[row - 1]) else None


def timesheet(path: Path, *, date1904: bool) -> Path:
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = openpyxl.Workbook()
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    assert ws is not None
    ws.title = "근무"
    ws.append(["이름", "날짜", "출근", "근무시간", "시간(숫자)"])
    ws.append(["김민수", date(2026, 3, 16), time(9, 0, 0), timedelta(hours=36, minutes=30), 8])
    ws.append(["이서연", date(2026, 3, 17), time(8, 45, 30), timedelta(hours=7, minutes=15, seconds=20), 7.5])
    ws.append(["박지훈", datetime(2026, 3, 18, 13, 5), time(13, 5, 0), timedelta(minutes=45), 0.75])
    for row in range(2, 5):
        ws[f"D{row}"].number_format = "[h]:mm:ss"
        ws[f"C{row}"].number_format = "hh:mm:ss"
    ws["A6"] = "합계"
    ws["E6"] = "=SUM(E2:E4)"
    ws["A7"] = "평균"
    ws["E7"] = "=AVERAGE(E2:E4)"
    ws["A8"] = "건수"
    ws["E8"] = "=COUNT(E2:E4)"
    ws["A9"] = "최소/최대"
    ws["D9"] = "=MIN(E2:E4)"
    ws["E9"] = "=MAX(E2:E4)"
    ws["A10"] = "참조"
    ws["E10"] = "=E6"  # refers to another uncached formula: computed after it
    ws["A11"] = "총합"
    ws["E11"] = "=SUM(E6, E9, 1)"
    ws["A12"] = "다른 함수"
    ws["E12"] = "=ROUND(E7, 0)"
    ws["E13"] = "=Other!A1"
    path = path.with_name(f"{path.stem}_{'1904' if date1904 else '1900'}.xlsx")
    wb.save(path)
    return path


@pytest.mark.parametrize("date1904", [False, True])
def test_durations_times_and_dates_are_typed_in_both_date_systems(tmp_path: Path, date1904: bool) -> None:
    result = extract(timesheet(tmp_path / "timesheet.xlsx", date1904=date1904))
    assert result.spreadsheet is not None
    assert result.spreadsheet.date_system == ("1904" if date1904 else "1900")
    sheet = result.spreadsheet.sheets[0]
    assert [cell(sheet, f"B{r}") for r in (2, 3, 4)] == ["2026-03-16", "2026-03-17", "2026-03-18T13:05:00"]
    assert [cell(sheet, f"C{r}") for r in (2, 3, 4)] == ["09:00:00", "08:45:30", "13:05:00"]
    assert [cell(sheet, f"D{r}") for r in (2, 3, 4)] == ["PT36H30M", "PT7H15M20S", "PT45M"]
    types = {c.header: c.type for c in sheet.columns}
    assert (types["출근"], types["근무시간"]) == ("time", "duration")


@pytest.mark.parametrize("date1904", [False, True])
def test_formulas_without_cached_values_are_computed_when_simple(tmp_path: Path, date1904: bool) -> None:
    result = extract(timesheet(tmp_path / "timesheet.xlsx", date1904=date1904))
    assert result.spreadsheet is not None
    sheet = result.spreadsheet.sheets[0]
    formulas = {f.cell: (f.formula, f.value, f.computed) for f in sheet.formulas}
    assert formulas == {
        "E6": ("SUM(E2:E4)", 16.25, True),
        "E7": ("AVERAGE(E2:E4)", pytest.approx(16.25 / 3), True),
        "E8": ("COUNT(E2:E4)", 3, True),
        "D9": ("MIN(E2:E4)", 0.75, True),
        "E9": ("MAX(E2:E4)", 8, True),
        "E10": ("E6", 16.25, True),
        "E11": ("SUM(E6, E9, 1)", 25.25, True),
        "E12": ("ROUND(E7, 0)", None, False),
        "E13": ("Other!A1", None, False),
    }
    # The computed values are in the rows too, where a client reads cells.
    assert [cell(sheet, f"E{r}") for r in (6, 8, 9, 10, 11)] == [16.25, 3, 8, 16.25, 25.25]
    assert cell(sheet, "E12") in (None, "")
    assert sheet.dimensions == "A1:E12"  # the uncomputed E13 adds no value, so no row
    [warning] = [w for w in result.warnings if w.code == "FORMULA_NOT_COMPUTED"]
    assert "E12 (=ROUND(E7, 0))" in warning.message
    assert "E13 (=Other!A1)" in warning.message


def test_cached_formula_values_are_listed_not_recomputed() -> None:
    result = extract(corpus_path("korean_text_in_formulas.xlsx"))
    assert result.spreadsheet is not None
    sheet = result.spreadsheet.sheets[0]
    assert len(sheet.formulas) == sheet.formula_count == 19
    assert {f.formula.replace("\n", "") for f in sheet.formulas} == {'IF(ROW()>5,"한글","영어")'}
    assert [f.value for f in sheet.formulas[:5]] == ["영어", "영어", "영어", "영어", "한글"]
    assert not any(f.computed for f in sheet.formulas)
    assert not [w for w in result.warnings if w.code == "FORMULA_NOT_COMPUTED"]


def test_vba_module_names_are_listed() -> None:
    result = extract(corpus_path("vba_defined_names_multisheet.xls"), "application/vnd.ms-excel")
    assert result.spreadsheet is not None
    assert result.spreadsheet.has_vba
    assert sorted(result.spreadsheet.vba_modules) == ["Sheet1", "Sheet2", "Sheet3", "Sheet4", "ThisWorkbook", "testVBA"]


@pytest.mark.parametrize(
    ("formula", "rows", "cols", "moved"),
    [
        ("SUM(B2:B4)", 1, 0, "SUM(B3:B5)"),
        ("$A$1+B2", 2, 1, "$A$1+C4"),
        ("A$1*$B2", 3, 2, "C$1*$B5"),
        ('IF(A1>5,"B2","C3")', 1, 0, 'IF(A2>5,"B2","C3")'),
        ("LOG10(A1)", 1, 0, "LOG10(A2)"),
    ],
)
def test_shared_formula_references_move_with_the_cell(formula: str, rows: int, cols: int, moved: str) -> None:
    from fastapi_app.extractors.spreadsheet.xlsx import shift_references

    assert shift_references(formula, rows, cols) == moved


def test_a_cached_empty_string_result_is_a_value() -> None:
    from fastapi_app.extractors.spreadsheet.xlsx import FormulaList

    part = (
        b'<row r="1"><c r="A1" t="str"><f>IF(B1&gt;0,"x","")</f><v></v></c>'
        b'<c r="B1"><f>SUM(C1:C2)</f><v /></c><c r="C1"><f>A1</f></c></row>'
    )
    listed = FormulaList(10)
    listed.scan(part, b"")
    assert listed.cells == [(0, 0, 'IF(B1>0,"x","")', True), (0, 1, "SUM(C1:C2)", False), (0, 2, "A1", False)]
