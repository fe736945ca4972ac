from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from fastapi_app.api.deps import CurrentUser, SessionDep
from fastapi_app.api.documents import content_disposition
from fastapi_app.core.vocabulary import DocumentStatusName, FileFamilyName
from fastapi_app.reports.renderers.registry import FORMATS
from fastapi_app.schemas.common import ApiResponse, error_responses, ok
from fastapi_app.services import report_service

router = APIRouter(prefix="/reports", tags=["reports"])


class SummaryFilter(BaseModel):
    file_type: FileFamilyName | None = None
    status: DocumentStatusName | None = None
    date_from: datetime | None = Field(default=None, description="uploaded at or after")
    date_to: datetime | None = Field(default=None, description="uploaded at or before")


SummaryFormat = Annotated[
    str | None, Query(description="omit for JSON in the envelope; json, md, html, xlsx or pdf for a file")
]


def summary_responses(*error_codes: int) -> dict[int | str, dict[str, Any]]:
    """A summary report's answers: JSON in the envelope, or a file in one of the report formats."""
    return {
        200: {"content": {f.media_type: {} for f in FORMATS.values() if f.name != "json"}},
        **error_responses(*error_codes),
    }


def summary_answer(summary: report_service.Summary, name: str | None = None) -> Any:
    """The envelope with the report model, or the rendered file (named `name` when given)."""
    if summary.file is None:
        return ok(summary.model.model_dump(mode="json"), f"Summary of {summary.document_count} documents")
    return Response(
        content=summary.file.data,
        media_type=summary.file.media_type,
        headers={"Content-Disposition": content_disposition(name or summary.file.filename)},
    )


class SummaryRequest(BaseModel):
    document_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    filter: SummaryFilter = Field(default_factory=SummaryFilter)
    title: str | None = Field(default=None, max_length=200)


@router.post(
    "/summary",
    response_model=ApiResponse[dict[str, Any]],
    responses=summary_responses(400, 401, 404, 422),
)
async def summary(
    body: SummaryRequest,
    user: CurrentUser,
    session: SessionDep,
    format: SummaryFormat = None,
) -> Any:
    """One report across documents (by ids, or by a filter): a row per document (name, type,
    date, main amount, counterparty, status) and totals by currency and by counterparty."""
    summary = await report_service.summary(
        session,
        user,
        document_ids=body.document_ids,
        file_type=body.filter.file_type,
        status=body.filter.status,
        date_from=body.filter.date_from,
        date_to=body.filter.date_to,
        title=body.title,
        format_name=format,
    )
    return summary_answer(summary)
