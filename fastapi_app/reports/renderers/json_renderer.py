from __future__ import annotations

from fastapi_app.reports.model import Report


def render(report: Report) -> bytes:
    return report.model_dump_json(indent=2).encode("utf-8")
