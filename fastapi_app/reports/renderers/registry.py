"""Report formats: one module per format, each `render(report) -> bytes`, loaded on first use."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from fastapi_app.reports.model import Report


@dataclass(frozen=True, slots=True)
class ReportFormat:
    name: str
    media_type: str
    extension: str


FORMATS: dict[str, ReportFormat] = {
    "json": ReportFormat("json", "application/json", "json"),
    "md": ReportFormat("md", "text/markdown; charset=utf-8", "md"),
    "html": ReportFormat("html", "text/html; charset=utf-8", "html"),
    "xlsx": ReportFormat("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ReportFormat("pdf", "application/pdf", "pdf"),
}
_MODULES = {"json": "json_renderer", "md": "markdown", "html": "html", "xlsx": "xlsx", "pdf": "pdf"}


def render(report: Report, format_name: str) -> bytes:
    module = importlib.import_module(f"fastapi_app.reports.renderers.{_MODULES[format_name]}")
    return bytes(module.render(report))
