"""GitHub-flavoured Markdown: headings, and tables whose cells cannot break the table."""

from __future__ import annotations

from typing import Any

from fastapi_app.reports.model import Report
from fastapi_app.reports.renderers.common import cell, entity_rows, fact_rows, headline_rows


def _escape(value: Any) -> str:
    return cell(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def _table(header: list[Any], rows: list[list[Any]]) -> list[str]:
    width = max([len(header), *(len(r) for r in rows)]) if (header or rows) else 0
    if width == 0:
        return []
    head = [_escape(h) for h in header] + [""] * (width - len(header))
    lines = ["| " + " | ".join(h or " " for h in head) + " |", "|" + "---|" * width]
    for row in rows:
        padded = [_escape(v) for v in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(padded) + " |")
    return lines


def render(report: Report) -> bytes:
    out: list[str] = [f"# {_escape(report.title)}", ""]
    if rows := headline_rows(report):
        out += ["## 요약 / Summary", "", *_table(["항목 / Item", "값 / Value"], [list(r) for r in rows]), ""]
    out += [
        "## 문서 정보 / Document",
        "",
        *_table(["항목 / Item", "값 / Value"], [list(r) for r in fact_rows(report)]),
        "",
    ]
    if report.key_values:
        rows_kv = [[kv.key, kv.value, kv.where or ""] for kv in report.key_values]
        out += ["## 주요 항목 / Key values", "", *_table(["키 / Key", "값 / Value", "위치 / Where"], rows_kv), ""]
    rows_entities = [list(row) for row in entity_rows(report)]
    if rows_entities:
        out += ["## 추출 정보 / Entities", "", *_table(["종류 / Type", "값 / Value"], rows_entities), ""]
    for table in report.tables:
        note = f" ({len(table.rows)} of {table.total_rows} rows)" if table.total_rows > len(table.rows) else ""
        out += [f"### {_escape(table.title)}{note}", "", *_table(table.header, table.rows), ""]
    for sheet in report.sheets:
        shape = f"{sheet.dimensions or '-'} · {sheet.rows} rows × {sheet.columns} columns · {sheet.visibility}"
        out += [f"### 시트 / Sheet: {_escape(sheet.name)}", "", shape, ""]
        if sheet.numeric_columns:
            stats = [[c.header or c.column, c.count, c.sum, c.min, c.max, c.mean] for c in sheet.numeric_columns]
            out += [*_table(["열 / Column", "count", "sum", "min", "max", "mean"], stats), ""]
    if report.warnings:
        out += ["## 경고 / Warnings", "", *[f"- `{w.code}`: {_escape(w.message)}" for w in report.warnings], ""]
    out += [f"<sub>Report v{report.version} · schema {report.schema_version}</sub>", ""]
    return "\n".join(out).encode("utf-8")
