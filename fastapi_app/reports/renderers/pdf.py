"""PDF with reportlab: a Korean TrueType font embedded (subset), text extractable, tables that
wrap to the page width and repeat their header row on each page."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from fastapi_app.reports.model import Report
from fastapi_app.reports.renderers.common import cell, entity_rows, fact_rows, headline_rows

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/nanum/NanumGothic.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansKR-Regular.ttf",
    "/Library/Fonts/NanumGothic.ttf",
)
BOLD_CANDIDATES = ("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf", "/usr/share/fonts/nanum/NanumGothicBold.ttf")
MAX_TABLE_ROWS = 200


@lru_cache
def korean_fonts() -> tuple[str, str, bool]:
    """(regular, bold, embedded). A TrueType font is embedded; without one, reportlab's CID font
    still renders Korean in viewers that have it, and the text stays extractable."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    from fastapi_app.core.config import get_settings

    configured = get_settings().REPORT_FONT_PATH
    regular = next((p for p in (configured, *FONT_CANDIDATES) if p and Path(p).is_file()), None)
    if regular is None:
        pdfmetrics.registerFont(UnicodeCIDFont("HYGothic-Medium"))
        return "HYGothic-Medium", "HYGothic-Medium", False
    pdfmetrics.registerFont(TTFont("ReportKorean", regular))
    bold = next((p for p in BOLD_CANDIDATES if Path(p).is_file()), None)
    if bold and not configured:
        pdfmetrics.registerFont(TTFont("ReportKoreanBold", bold))
        return "ReportKorean", "ReportKoreanBold", True
    return "ReportKorean", "ReportKorean", True


def _p(text: Any, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(cell(text)).replace("\n", "<br/>"), style)


def render(report: Report) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, SimpleDocTemplate, Spacer, TableStyle

    regular, bold, _ = korean_fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    head = ParagraphStyle("head", parent=small, fontName=bold)
    h1 = ParagraphStyle("h1", parent=body, fontName=bold, fontSize=16, leading=20, spaceAfter=6)
    h2 = ParagraphStyle("h2", parent=body, fontName=bold, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4,
                        textColor=colors.HexColor("#0b5cad"))  # fmt: skip

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
        title=report.title, author="Document Processing API", subject=report.document.filename,
    )  # fmt: skip
    width = doc.width
    grid = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c8d1dc")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ])  # fmt: skip
    header_grid = TableStyle([*grid.getCommands(), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7"))])

    def pairs_table(rows: list[tuple[str, Any]]) -> Any:
        table = LongTable([[_p(k, head), _p(v, small)] for k, v in rows], colWidths=[width * 0.32, width * 0.68])
        table.setStyle(grid)
        return table

    def data_table(header: list[Any], rows: list[list[Any]]) -> Any:
        columns = max([len(header), *(len(r) for r in rows)]) if (header or rows) else 1
        data = []
        if header:
            data.append([_p(h, head) for h in header] + [""] * (columns - len(header)))
        data += [[_p(v, small) for v in r] + [""] * (columns - len(r)) for r in rows[:MAX_TABLE_ROWS]]
        table = LongTable(data, colWidths=[width / columns] * columns, repeatRows=1 if header else 0)
        table.setStyle(header_grid if header else grid)
        return table

    story: list[Any] = [_p(report.title, h1)]
    if rows := headline_rows(report):
        story += [_p("요약 / Summary", h2), pairs_table(rows)]
    story += [_p("문서 정보 / Document", h2), pairs_table(fact_rows(report))]
    if report.key_values:
        story += [_p("주요 항목 / Key values", h2),
                  data_table(["키 / Key", "값 / Value", "위치 / Where"],
                             [[kv.key, kv.value, kv.where or ""] for kv in report.key_values])]  # fmt: skip
    if entities := entity_rows(report):
        story += [
            _p("추출 정보 / Entities", h2),
            data_table(["종류 / Type", "값 / Value"], [list(e) for e in entities]),
        ]
    for table in report.tables:
        story += [_p(table.title, h2), data_table(table.header, table.rows)]
    for sheet in report.sheets:
        story.append(_p(f"시트 / Sheet: {sheet.name} ({sheet.dimensions or '-'}, {sheet.rows} × {sheet.columns})", h2))
        if sheet.numeric_columns:
            story.append(data_table(["열 / Column", "count", "sum", "min", "max", "mean"],
                                    [[c.header or c.column, c.count, c.sum, c.min, c.max, c.mean]
                                     for c in sheet.numeric_columns]))  # fmt: skip
    if report.warnings:
        story += [_p("경고 / Warnings", h2), pairs_table([(w.code, w.message) for w in report.warnings])]
    story += [Spacer(1, 6), _p(f"Report v{report.version} · schema {report.schema_version}", small)]
    doc.build(story)
    return buffer.getvalue()
