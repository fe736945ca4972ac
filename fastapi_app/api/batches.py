from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from fastapi_app.api.deps import CurrentUser, SessionDep
from fastapi_app.api.reports import SummaryFormat, summary_answer, summary_responses
from fastapi_app.schemas.common import ApiResponse, error_responses, ok
from fastapi_app.schemas.document import BatchOut, DocumentOut
from fastapi_app.services import batch_service

router = APIRouter(prefix="/batches", tags=["batches"])


@router.get("/{batch_id}", response_model=ApiResponse[BatchOut], responses=error_responses(401, 404, 422))
async def get_batch(
    batch_id: str,
    user: CurrentUser,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=batch_service.MAX_BATCH_PAGE_SIZE)] = 100,
) -> dict[str, Any]:
    """The batch's counts by status, its refused files, and a page of its documents (oldest first)."""
    batch = await batch_service.get_owned(session, user, batch_service.parse_batch_id(batch_id))
    counts = await batch_service.status_counts(session, batch)
    documents, total, total_pages = await batch_service.documents_page(session, batch, page, page_size)
    return ok(
        BatchOut(
            id=batch.id,
            source=batch.source,  # type: ignore[arg-type]
            created_at=batch.created_at,
            completed_at=batch.completed_at,
            total_files=batch.total_files,
            accepted=batch.accepted_count,
            rejected=batch.rejected_count,
            counts=counts,
            rejected_items=batch.rejected,  # type: ignore[arg-type]
            documents=[DocumentOut.model_validate(d) for d in documents],
            page=page,
            page_size=page_size,
            total_documents=total,
            total_pages=total_pages,
        )
    )


@router.get(
    "/{batch_id}/report",
    response_model=ApiResponse[dict[str, Any]],
    responses=summary_responses(400, 401, 404),
)
async def batch_report(
    batch_id: str,
    user: CurrentUser,
    session: SessionDep,
    format: SummaryFormat = None,
) -> Any:
    """The summary report of the batch's documents (as POST /api/reports/summary gives for chosen ids)."""
    batch = await batch_service.get_owned(session, user, batch_service.parse_batch_id(batch_id))
    summary = await batch_service.report(session, user, batch, format)
    return summary_answer(summary, summary.file.filename.replace("summary", "batch") if summary.file else None)
