"""XLSX: Summary, Key-Values, Entities and one sheet per table, with number and date formats and
the header row frozen. Written with XlsxWriter (fast, streaming, BSD).

Every string here comes from an uploaded document (or a user's request) and is written as text:
XlsxWriter's `write()` would turn "=...", "{=...}" and URLs into live formulas and hyperlinks
(formula injection), so the workbook refuses those conversions and text goes through `write_string`.
"""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date
from typing import Any

from fastapi_app.reports.model import Report
from fastapi_app.reports.renderers.common import entity_rows, fact_rows, headline_rows

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMERIC_TEXT = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^-?\d+(?:\.\d+)?$")
_INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# Excel's own limit counts UTF-16 code units (an emoji is two); XlsxWriter refuses longer names.
_SHEET_NAME_UNITS = 31
# Excel refuses this name for a worksheet whatever its case.
_RESERVED_SHEET_NAMES = frozenset({"history"})
_WORKBOOK_OPTIONS = {
    "in_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _truncate_utf16(text: str, units: int) -> str:
    while _utf16_units(text) > units:
        text = text[:-1]
    return text


def _printable(text: str) -> str:
    """Control characters (C0, DEL, C1) and line/paragraph separators as "_": in a sheet name they
    are invalid XML or invisible line breaks."""
    return "".join("_" if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


def _clean_sheet_base(text: str, units: int) -> str:
    # Apostrophes are stripped after truncating too: cutting can leave one at the end.
    return _truncate_utf16(text.strip().strip("'"), units).strip().strip("'")


def sheet_name(title: str, used: set[str]) -> str:
    """A valid, unique (ignoring case, like Excel) worksheet name from text of the document."""
    base = _clean_sheet_base(_printable(_INVALID_SHEET_CHARS.sub("_", title)), _SHEET_NAME_UNITS) or "Table"
    name, counter = base, 2
    while name.lower() in used or name.lower() in _RESERVED_SHEET_NAMES:
        suffix = f"~{counter}"
        name = _clean_sheet_base(base, _SHEET_NAME_UNITS - len(suffix)) + suffix
        counter += 1
    used.add(name.lower())
    return name


def render(report: Report) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, _WORKBOOK_OPTIONS)
    workbook.set_properties(
        {"title": _printable(report.title), "subject": "Document report", "comments": report.document.sha256}
    )
    fmt = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "header": workbook.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True}),
        "label": workbook.add_format({"bold": True}),
        "int": workbook.add_format({"num_format": "#,##0"}),
        "dec": workbook.add_format({"num_format": "#,##0.00"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "text": workbook.add_format({"text_wrap": False}),
    }

    def write(sheet: Any, row: int, col: int, value: Any) -> None:
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int):
            sheet.write_number(row, col, value, fmt["int"])
        elif isinstance(value, float):
            sheet.write_number(row, col, value, fmt["int"] if value.is_integer() else fmt["dec"])
        elif isinstance(value, str) and _NUMERIC_TEXT.match(value.strip()):
            # Table cells from PDFs arrive as text ("150,000"): a spreadsheet user wants numbers.
            number = float(value.replace(",", ""))
            sheet.write_number(row, col, number, fmt["int"] if number.is_integer() else fmt["dec"])
        elif isinstance(value, str) and _ISO_DATE.match(value):
            try:
                sheet.write_datetime(row, col, date.fromisoformat(value), fmt["date"])
            except ValueError:
                sheet.write_string(row, col, value)
        elif value is None:
            sheet.write_blank(row, col, None)
        else:
            sheet.write_string(row, col, str(value)[:32_000])

    used: set[str] = set()
    summary = workbook.add_worksheet(sheet_name("Summary", used))
    summary.write_string(0, 0, report.title, fmt["title"])
    row = 2
    if report.headline.total:
        summary.write_string(row, 0, "합계 / Total", fmt["label"])
        write(summary, row, 1, report.headline.total.amount)
        summary.write_string(row, 2, report.headline.total.currency or "")
        row += 1
    for label, value in [*headline_rows(report), *fact_rows(report)]:
        if label.startswith("합계"):
            continue
        summary.write_string(row, 0, label, fmt["label"])
        write(summary, row, 1, value)
        row += 1
    summary.set_column(0, 0, 30)
    summary.set_column(1, 1, 50)

    key_values = workbook.add_worksheet(sheet_name("Key-Values", used))
    for col, heading in enumerate(["Key", "Value", "Normalized", "Where"]):
        key_values.write_string(0, col, heading, fmt["header"])
    for index, kv in enumerate(report.key_values, start=1):
        key_values.write_string(index, 0, kv.key)
        key_values.write_string(index, 1, kv.value)
        write(key_values, index, 2, kv.normalized)
        key_values.write_string(index, 3, kv.where or "")
    key_values.freeze_panes(1, 0)
    key_values.set_column(0, 1, 28)
    key_values.set_column(2, 3, 18)

    entities = workbook.add_worksheet(sheet_name("Entities", used))
    for col, heading in enumerate(["Type", "Value", "Amount", "Currency"]):
        entities.write_string(0, col, heading, fmt["header"])
    index = 1
    for money in report.highlights.amounts:
        entities.write_string(index, 0, "amount")
        entities.write_string(index, 1, money.text or "")
        write(entities, index, 2, money.amount)
        entities.write_string(index, 3, money.currency or "")
        index += 1
    for kind, value in entity_rows(report):
        if kind.startswith("금액"):
            continue
        entities.write_string(index, 0, kind)
        write(entities, index, 1, value)
        index += 1
    entities.freeze_panes(1, 0)
    entities.set_column(0, 1, 30)
    entities.set_column(2, 3, 14)

    for table in report.tables:
        sheet = workbook.add_worksheet(sheet_name(table.title, used))
        width = max([len(table.header), *(len(r) for r in table.rows)]) if (table.header or table.rows) else 0
        for col, heading in enumerate(table.header):
            sheet.write_string(0, col, "" if heading is None else str(heading)[:32_000], fmt["header"])
        for r, values in enumerate(table.rows, start=1):
            for col, value in enumerate(values):
                write(sheet, r, col, value)
        sheet.freeze_panes(1, 0)
        if width:
            sheet.set_column(0, width - 1, 16)
    workbook.close()
    return buffer.getvalue()
