"""Self-contained HTML (no external assets): readable on a phone, printable on A4."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi_app.reports.model import Report
from fastapi_app.reports.renderers.common import cell, entity_rows, fact_rows, headline_rows


@lru_cache
def _template() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("fastapi_app.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2")


def render(report: Report) -> bytes:
    html = _template().render(
        report=report,
        headline=headline_rows(report),
        facts=fact_rows(report),
        entities=entity_rows(report),
        fmt=cell,
        is_number=lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    )
    return html.encode("utf-8")
