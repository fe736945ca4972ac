from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Request, status
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from fastapi_app.api.conditional import IMMUTABLE, conditional_json, matches, not_modified
from fastapi_app.api.deps import (
    AccessClaims,
    ActiveAccount,
    CurrentUser,
    DocumentId,
    OwnedDocument,
    SessionDep,
    SettingsDep,
    parse_document_id,
)
from fastapi_app.api.ratelimit import limit_upload
from fastapi_app.api.uploads import receive_multipart_batch, receive_multipart_upload
from fastapi_app.core.vocabulary import DocumentStatusName, FileFamily, FileFamilyName
from fastapi_app.realtime.events import event_message
from fastapi_app.reports.renderers.registry import FORMATS
from fastapi_app.schemas.common import ApiResponse, PagedResponse, error_responses, ok
from fastapi_app.schemas.document import (
    BatchCreatedOut,
    DocumentOut,
    EventOut,
    ExtractedDataOut,
    PagesOut,
    ReportOut,
    ReportSummaryOut,
    SortField,
    StatsSummary,
    Timeseries,
    document_envelope_json,
    document_json_row,
)
from fastapi_app.services import batch_service, document_service, idempotency_service, preview_service, report_service
from fastapi_app.services.idempotency_service import Checkpoint

router = APIRouter(prefix="/documents", tags=["documents"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "PDF, Excel or image"},
                        "file_type": {
                            "type": "string",
                            "enum": [family.value for family in FileFamily],
                            "description": "Optional; detected from the content when absent",
                        },
                        "password": {
                            "type": "string",
                            "format": "password",
                            "description": "Opens an encrypted PDF; stored encrypted, never returned",
                        },
                        "callback_url": {
                            "type": "string",
                            "format": "uri",
                            "description": "Optional http(s) URL that receives the signed completed/failed webhook",
                        },
                    },
                }
            }
        },
    }
}


_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "The files, one part each (or send `archive` instead)",
                        },
                        "archive": {
                            "type": "string",
                            "format": "binary",
                            "description": "One ZIP whose files are the batch (not unpacked recursively)",
                        },
                        "callback_url": {
                            "type": "string",
                            "format": "uri",
                            "description": "Optional webhook target for every document of the batch",
                        },
                    },
                }
            }
        },
    }
}


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266 with an ASCII fallback and the exact UTF-8 name in RFC 5987 `filename*`."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename) or "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency_service.HEADER,
        description="Optional; a retry with the same key and request within 24 h gets the first answer again",
    ),
]


def _answer_response(answer: idempotency_service.Answer) -> Response:
    headers = {idempotency_service.REPLAYED_HEADER: "true"} if answer.replayed else None
    return Response(answer.body, status_code=answer.status_code, media_type="application/json", headers=headers)


@router.post(
    "/upload",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ApiResponse[DocumentOut],
    responses=error_responses(400, 401, 409, 413, 415, 422, 429, 503),
    openapi_extra=_UPLOAD_BODY,
    dependencies=[Depends(limit_upload)],
)
async def upload(
    request: Request, account: ActiveAccount, settings: SettingsDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Upload a file; it is processed in the background. Poll the document or watch `/ws`."""
    received = functools.partial(
        receive_multipart_upload,
        request,
        max_size=settings.MAX_UPLOAD_SIZE,
        flush_bytes=settings.UPLOAD_CHUNK_SIZE,
        max_overhead=settings.MAX_UPLOAD_OVERHEAD,
        max_parts=settings.MAX_UPLOAD_PARTS,
    )

    async def handle(checkpoint: Checkpoint | None) -> idempotency_service.Answer:
        document = await document_service.upload(received, account.subject, settings, checkpoint=checkpoint)
        body = document_envelope_json(
            document_json_row(document_service.public_row(document)), message="File uploaded; processing has started"
        )
        return idempotency_service.Answer(status.HTTP_202_ACCEPTED, body)

    answer = await idempotency_service.run(idempotency_key, account.subject, "upload", settings, handle)
    return _answer_response(answer)


@router.post(
    "/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ApiResponse[BatchCreatedOut],
    responses=error_responses(400, 401, 409, 413, 415, 422, 429, 503),
    openapi_extra=_BATCH_BODY,
    dependencies=[Depends(limit_upload)],
)
async def upload_batch(
    request: Request, account: ActiveAccount, settings: SettingsDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Many files at once (repeated `files` parts, or one ZIP as `archive`): each file is checked like a
    single upload; the accepted ones become documents of one batch, the others are listed with their
    error code. 422 BATCH_REJECTED when none is accepted."""
    received = functools.partial(
        receive_multipart_batch,
        request,
        max_file_size=settings.MAX_UPLOAD_SIZE,
        max_total_size=settings.BATCH_MAX_TOTAL_SIZE,
        max_files=settings.BATCH_MAX_FILES,
        flush_bytes=settings.UPLOAD_CHUNK_SIZE,
        max_overhead=settings.MAX_UPLOAD_OVERHEAD,
    )

    async def handle(checkpoint: Checkpoint | None) -> idempotency_service.Answer:
        created = await batch_service.create(received, account.subject, settings, checkpoint=checkpoint)
        items = []
        for item in created.items:
            if item.prepared is None:
                items.append(batch_service.rejection(item))
                continue
            row = document_json_row(document_service.public_row(item.prepared.document))
            items.append({"index": item.index, "filename": item.filename, "status": "accepted", "document": row})
        data = {
            "batch_id": created.batch_id,
            "source": created.source,
            "total": len(created.items),
            "accepted": len(created.accepted),
            "rejected": len(created.items) - len(created.accepted),
            "items": items,
        }
        body = document_envelope_json(data, message="Batch uploaded; processing has started")
        return idempotency_service.Answer(status.HTTP_202_ACCEPTED, body)

    answer = await idempotency_service.run(idempotency_key, account.subject, "batch", settings, handle)
    return _answer_response(answer)


@router.get("/", response_model=PagedResponse[DocumentOut], responses=error_responses(401, 422))
async def list_documents(
    claims: AccessClaims,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    status_filter: Annotated[DocumentStatusName | None, Query(alias="status")] = None,
    file_type: FileFamilyName | None = None,
    # No file name holds a NUL (we strip control characters on upload) and PostgreSQL cannot
    # compare text containing one: refused as invalid input instead of reaching the database.
    search: Annotated[
        str | None, Query(max_length=255, pattern=r"^[^\x00]*$", description="Part of the file name")
    ] = None,
    date_from: Annotated[datetime | None, Query(description="Uploaded at or after (ISO 8601)")] = None,
    date_to: Annotated[datetime | None, Query(description="Uploaded at or before (ISO 8601)")] = None,
    sort: SortField = "-created_at",
) -> Response:
    body = await document_service.list_documents_json(
        claims.subject,
        token_version=claims.version,
        page=page,
        page_size=page_size,
        status=status_filter,
        file_type=file_type,
        search=search,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
    )
    return Response(body, media_type="application/json")


@router.get("/stats/summary", response_model=ApiResponse[StatsSummary], responses=error_responses(401))
async def stats_summary(claims: AccessClaims, session: SessionDep) -> Response:
    body = await document_service.stats_summary_json(session, claims.subject, claims.version)
    return Response(body, media_type="application/json")


@router.get("/stats/timeseries", response_model=ApiResponse[Timeseries], responses=error_responses(401, 422))
async def stats_timeseries(
    claims: AccessClaims,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=document_service.MAX_TIMESERIES_DAYS)] = 30,
    tz: Annotated[str, Query(min_length=1, max_length=64, description="IANA time zone of the days")] = "Asia/Seoul",
) -> Response:
    """Your uploads per day (in `tz`) over the last `days` days, today included: every day, oldest first."""
    body = await document_service.timeseries_json(session, claims.subject, claims.version, days, tz)
    return Response(body, media_type="application/json")


@router.get("/{document_id}", response_model=ApiResponse[DocumentOut], responses=error_responses(401, 404))
async def get_document(document_id: str, claims: AccessClaims, request: Request) -> Response:
    # The hottest read: no ORM session, and the account check rides on the document query (one round
    # trip, not two); see fastapi_app/db/direct.py.
    # Not cached in Redis: a hit would still ask the account (one query), and this read is one query
    # with the account joined in; measured slower cached (docs/BENCHMARKS.md, issue 16).
    row = await document_service.get_for_active_owner(claims.subject, claims.version, parse_document_id(document_id))
    return conditional_json(request, document_envelope_json(document_json_row(row)))


@router.delete("/{document_id}", response_model=ApiResponse[None], responses=error_responses(401, 404))
async def delete_document(document: OwnedDocument, session: SessionDep) -> dict[str, Any]:
    await document_service.delete(session, document)
    return ok(None, "Document deleted")


@router.post(
    "/{document_id}/reprocess",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ApiResponse[DocumentOut],
    responses=error_responses(401, 404, 409),
)
async def reprocess(document: OwnedDocument, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    document = await document_service.reprocess(session, document, settings)
    return ok(DocumentOut.model_validate(document), "Reprocessing queued")


@router.get(
    "/{document_id}/extracted-data",
    response_model=ApiResponse[ExtractedDataOut],
    responses=error_responses(401, 404, 409),
)
async def extracted_data(document: OwnedDocument, session: SessionDep, request: Request) -> Response:
    record = await document_service.get_extraction(session, document)
    extraction = ExtractedDataOut(
        document_id=record.document_id,
        run=record.run,
        schema_version=record.schema_version,
        created_at=record.created_at,
        result=record.data,
    )
    return conditional_json(request, ApiResponse[ExtractedDataOut](data=extraction).model_dump_json().encode())


def _report_summary(report: Any) -> ReportSummaryOut:
    return ReportSummaryOut(
        id=report.id,
        document_id=report.document_id,
        version=report.version,
        schema_version=report.schema_version,
        title=report.title,
        formats=list(FORMATS),
        created_at=report.created_at,
    )


@router.get("/{document_id}/events", response_model=ApiResponse[list[EventOut]], responses=error_responses(401, 404))
async def list_events(document: OwnedDocument, session: SessionDep) -> dict[str, Any]:
    """The processing timeline: every event of every run, oldest first."""
    events = await document_service.list_events(session, document)
    return ok([event_message(e) for e in events])


@router.get(
    "/{document_id}/reports", response_model=ApiResponse[list[ReportSummaryOut]], responses=error_responses(401, 404)
)
async def list_reports(document: OwnedDocument, session: SessionDep, request: Request) -> Response:
    """All report versions, newest first."""
    reports = await report_service.list_reports(session, document)
    body = ApiResponse[list[ReportSummaryOut]](data=[_report_summary(r) for r in reports]).model_dump_json()
    return conditional_json(request, body.encode())


@router.get(
    "/{document_id}/reports/{report_id}", response_model=ApiResponse[ReportOut], responses=error_responses(401, 404)
)
async def get_report(
    document_id: DocumentId, report_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    """One report version; versions never change, so clients may keep it (`Cache-Control: immutable`)."""
    # Not an OwnedDocument (nor below): a malformed report_id was a 422 before the document was looked up.
    report = await report_service.get_owned_report(session, user, document_id, report_id)
    out = ReportOut(**_report_summary(report).model_dump(), content=report.content)
    return conditional_json(request, ApiResponse[ReportOut](data=out).model_dump_json().encode(), IMMUTABLE)


@router.get(
    "/{document_id}/reports/{report_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {f.media_type: {} for f in FORMATS.values()}}, **error_responses(400, 401, 404)},
)
async def download_report(
    document_id: DocumentId,
    report_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    format: Annotated[str, Query(description="json, md, html, xlsx or pdf")] = "json",
) -> Response:
    """One report version as a file; rendered on first download, then served from cache."""
    # The format is checked between the account and the document, as it always was.
    rendered = await report_service.report_file(session, user, document_id, report_id, format)
    # The version and the format name the file: it is rendered once and never changes.
    etag = f'"{report_id}.{format}"'
    if matches(request, etag):
        return not_modified(etag, IMMUTABLE)
    return FileResponse(
        rendered.path,
        media_type=rendered.media_type,
        headers={
            "Content-Disposition": content_disposition(rendered.filename),
            "ETag": etag,
            "Cache-Control": IMMUTABLE,
        },
    )


@router.get(
    "/{document_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **error_responses(401, 404)},
)
async def download(document: OwnedDocument) -> Response:
    """The original file, byte for byte, with its original name."""
    original = await document_service.original_file(document)
    headers = {
        "Content-Disposition": content_disposition(original.filename),
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{original.sha256}"',
    }
    if original.path is not None:
        return FileResponse(original.path, media_type=original.media_type, headers=headers)
    body = original.stream
    assert body is not None  # original_file gives a path or a stream
    if body.size is not None:
        headers["Content-Length"] = str(body.size)
    # The background close covers a client that hangs up before the body is exhausted.
    return StreamingResponse(
        body, media_type=original.media_type, headers=headers, background=BackgroundTask(body.close)
    )


@router.get("/{document_id}/pages", response_model=ApiResponse[PagesOut], responses=error_responses(400, 401, 404))
async def pages(document: OwnedDocument) -> dict[str, Any]:
    """How many pages the original has to preview (PDF pages; 1 for an image; 0 for a workbook)."""
    found = await preview_service.pages(document)
    return ok(PagesOut(page_count=found.page_count, previewable=found.previewable))


@router.get(
    "/{document_id}/pages/{page}/preview",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The page as PNG"},
        **error_responses(400, 401, 404, 422),
    },
)
async def page_preview(
    document: OwnedDocument,
    settings: SettingsDep,
    page: Annotated[int, Path(ge=1, le=100_000, description="Page number, from 1")],
    width: Annotated[int, Query(ge=200, le=2000, description="Pixels")] = 1000,
) -> Response:
    """Page `page` of the original as PNG `width` pixels wide: a PDF page rendered, or the image (page 1)
    upright per its EXIF orientation, never enlarged. Workbooks have none (404 PREVIEW_UNAVAILABLE)."""
    png = await preview_service.render(document, page, width, settings)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
