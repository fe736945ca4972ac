"""Report downloads and batch summaries.

Rendering happens on first download and is cached on disk: a report version never changes, and
measured render times (JSON <1 ms, Markdown 2 ms, HTML 5 ms, XLSX 10-60 ms, PDF 100-400 ms) make
rendering all five at generation cost the worker more than most users ever download.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import DocumentNotFound, ReportNotFound, SummaryTooLarge, UnsupportedReportFormat
from fastapi_app.models import Document, Report, User
from fastapi_app.models.access import owned_by
from fastapi_app.reports.model import DocumentFacts, KeyValueRow, Money, ReportTable
from fastapi_app.reports.model import Report as ReportModel
from fastapi_app.reports.renderers.registry import FORMATS, render
from fastapi_app.services import access_service
from fastapi_app.services.document_filters import DocumentFilter, filter_clauses, filter_params, set_filters

MAX_SUMMARY_DOCUMENTS = 1_000


@dataclass(slots=True)
class RenderedReport:
    path: Path
    media_type: str
    filename: str


@dataclass(frozen=True, slots=True)
class RenderedSummary:
    data: bytes
    media_type: str
    filename: str


@dataclass(frozen=True, slots=True)
class Summary:
    """A batch summary: the report, and when a format was asked for, its rendered file."""

    model: ReportModel
    document_count: int
    file: RenderedSummary | None = None


def cache_dir(document_id: uuid.UUID) -> Path:
    return get_settings().REPORTS_DIR / document_id.hex[:2] / document_id.hex


def check_format(format_name: str) -> None:
    if format_name not in FORMATS:
        raise UnsupportedReportFormat(
            f"Unknown report format '{format_name}'.", details={"supported_formats": list(FORMATS)}
        )


def _safe_stem(title: str) -> str:
    stem = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", "_", title).strip(" ._")[:80]
    return stem or "report"


def _render_to_cache(report: Report, format_name: str) -> Path:
    target = cache_dir(report.document_id) / f"{report.id.hex}.{FORMATS[format_name].extension}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    data = render(ReportModel.model_validate(report.content), format_name)
    temp = target.with_suffix(f".{uuid.uuid4().hex}.part")
    temp.write_bytes(data)
    os.replace(temp, target)  # two concurrent first downloads both end with one whole file
    return target


async def rendered_report(report: Report, format_name: str) -> RenderedReport:
    check_format(format_name)
    path = await anyio.to_thread.run_sync(_render_to_cache, report, format_name)
    spec = FORMATS[format_name]
    return RenderedReport(path, spec.media_type, f"{_safe_stem(report.title)}-v{report.version}.{spec.extension}")


def delete_cached(document_id: uuid.UUID) -> None:
    shutil.rmtree(cache_dir(document_id), ignore_errors=True)


async def list_reports(session: AsyncSession, document: Document) -> list[Report]:
    query = select(Report).where(Report.document_id == document.id).order_by(Report.version.desc())
    return list((await session.scalars(query)).all())


async def get_owned_report(session: AsyncSession, owner: User, document_id: uuid.UUID, report_id: uuid.UUID) -> Report:
    """A report version of a document `owner` owns; 404 DOCUMENT_NOT_FOUND or REPORT_NOT_FOUND."""
    await access_service.get_owned(session, owner.id, owner.token_version, document_id)
    report = await session.scalar(select(Report).where(Report.id == report_id, Report.document_id == document_id))
    if report is None:
        raise ReportNotFound()
    return report


async def report_file(
    session: AsyncSession, owner: User, document_id: uuid.UUID, report_id: uuid.UUID, format_name: str
) -> RenderedReport:
    """One report version rendered as `format_name` (cached). The format is checked before the document:
    an unknown format is a 400 whichever document it names."""
    check_format(format_name)
    return await rendered_report(await get_owned_report(session, owner, document_id, report_id), format_name)


# --- batch summary ---------------------------------------------------------------------------


async def summary_documents(
    session: AsyncSession,
    owner: User,
    *,
    document_ids: list[uuid.UUID] | None,
    file_type: str | None,
    status: str | None,
    date_from: datetime | None,
    date_to: datetime | None,
) -> list[tuple[Document, Report | None]]:
    params = filter_params(
        DocumentFilter(
            document_ids=tuple(document_ids or ()),
            file_type=file_type,
            status=status,
            date_from=date_from,
            date_to=date_to,
        )
    )
    query = (
        select(Document)
        .where(owned_by(owner.id), *filter_clauses(set_filters(params)))
        .order_by(Document.created_at)
        .limit(MAX_SUMMARY_DOCUMENTS + 1)
    )
    documents = list((await session.scalars(query, params)).all())
    if len(documents) > MAX_SUMMARY_DOCUMENTS:
        raise SummaryTooLarge(f"A summary covers at most {MAX_SUMMARY_DOCUMENTS} documents; narrow the filter.")
    if document_ids:
        found = {d.id for d in documents}
        missing = [str(i) for i in document_ids if i not in found]
        if missing:
            raise DocumentNotFound(details={"missing": missing})
    latest: dict[uuid.UUID, Report] = {}
    if documents:
        reports = await session.scalars(
            select(Report).where(Report.document_id.in_([d.id for d in documents])).order_by(Report.version)
        )
        for report in reports:
            latest[report.document_id] = report  # ordered by version: the last one wins
    return [(document, latest.get(document.id)) for document in documents]


async def summary(
    session: AsyncSession,
    owner: User,
    *,
    document_ids: list[uuid.UUID] | None,
    file_type: str | None,
    status: str | None,
    date_from: datetime | None,
    date_to: datetime | None,
    title: str | None,
    format_name: str | None,
) -> Summary:
    """One report across the owner's documents (by ids, or by the filter); rendered as `format_name`
    when one is given (checked first: an unknown format is a 400 before any document is read)."""
    if format_name is not None:
        check_format(format_name)
    rows = await summary_documents(
        session,
        owner,
        document_ids=document_ids,
        file_type=file_type,
        status=status,
        date_from=date_from,
        date_to=date_to,
    )
    model = build_summary(rows, title=title or f"요약 보고서 / Summary of {len(rows)} documents")
    if format_name is None:
        return Summary(model, len(rows))
    data = await anyio.to_thread.run_sync(render, model, format_name)
    spec = FORMATS[format_name]
    return Summary(model, len(rows), RenderedSummary(data, spec.media_type, f"summary.{spec.extension}"))


def build_summary(rows: list[tuple[Document, Report | None]], *, title: str) -> ReportModel:
    """One report across documents, in the shape every renderer already knows."""
    table_rows: list[list[Any]] = []
    by_currency: dict[str, float] = defaultdict(float)
    by_counterparty: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for document, report in rows:
        counts[document.status] += 1
        headline = (report.content.get("headline") or {}) if report else {}
        total = headline.get("total") or {}
        amount, currency = total.get("amount"), total.get("currency") or ""
        counterparty = headline.get("counterparty") or ""
        doc_date = headline.get("document_date") or document.created_at.date().isoformat()
        table_rows.append(
            [document.original_filename, document.file_type, doc_date, amount, currency, counterparty, document.status]
        )
        if isinstance(amount, (int, float)):
            by_currency[currency or "?"] += amount
            by_counterparty[(counterparty or "(unknown)", currency or "?")] += amount
    facts = DocumentFacts(
        filename=f"{len(rows)} documents",
        file_type="summary",
        mime_type="application/json",
        size_bytes=sum(d.size_bytes for d, _ in rows),
        sha256="",
        processed_at=datetime.now().astimezone().isoformat(timespec="seconds"),
    )
    return ReportModel(
        version=1,
        title=title,
        document=facts,
        key_values=[KeyValueRow(key=f"documents {status}", value=str(n), normalized=n) for status, n in counts.items()],
        tables=[
            ReportTable(
                title="Documents",
                header=["name", "type", "date", "main amount", "currency", "counterparty", "status"],
                rows=table_rows,
                total_rows=len(table_rows),
            ),
            ReportTable(
                title="Totals by currency",
                header=["currency", "total"],
                rows=[[c, round(v, 2)] for c, v in sorted(by_currency.items())],
                total_rows=len(by_currency),
            ),
            ReportTable(
                title="Totals by counterparty",
                header=["counterparty", "currency", "total"],
                rows=[[p, c, round(v, 2)] for (p, c), v in sorted(by_counterparty.items())],
                total_rows=len(by_counterparty),
            ),
        ],
        highlights={"amounts": [Money(amount=round(v, 2), currency=c) for c, v in sorted(by_currency.items())]},
    )
