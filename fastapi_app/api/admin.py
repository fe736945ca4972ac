"""The admin dashboard's API: superusers only (403 SUPERUSER_REQUIRED for everyone else, 401 without a token)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from fastapi_app.api.deps import DocumentId, SessionDep, SettingsDep, SuperUser, get_superuser
from fastapi_app.core.vocabulary import DocumentStatusName, FileFamilyName
from fastapi_app.models import Document
from fastapi_app.schemas.admin import AdminDocumentOut, OperationsOut
from fastapi_app.schemas.common import ApiResponse, PagedResponse, error_responses, ok
from fastapi_app.schemas.user import AdminUserOut, AdminUserUpdate
from fastapi_app.services import admin_service

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    # Every route, also one that forgets to ask for the SuperUser itself.
    dependencies=[Depends(get_superuser)],
)

# No NUL: PostgreSQL cannot compare text holding one (the documents list refuses it the same way).
SearchText = Annotated[str | None, Query(max_length=255, pattern=r"^[^\x00]*$")]


def _paged(items: list[Any], total: int, page: int, page_size: int, total_pages: int) -> dict[str, Any]:
    return {
        "success": True,
        "message": "OK",
        "data": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "total_pages": total_pages,
    }


def _admin_document(document: Document, username: str) -> AdminDocumentOut:
    return AdminDocumentOut.model_validate(
        {
            **{field: getattr(document, field) for field in AdminDocumentOut.model_fields if hasattr(document, field)},
            "owner_username": username,
        }
    )


@router.get("/users", response_model=PagedResponse[AdminUserOut], responses=error_responses(401, 403, 422))
async def list_users(
    session: SessionDep,
    search: Annotated[SearchText, Query(description="Part of the username, email or full name")] = None,
    is_active: bool | None = None,
    is_superuser: bool | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Every account, newest first, with its document count and stored bytes."""
    users, total, total_pages = await admin_service.list_users(
        session, page=page, page_size=page_size, search=search, is_active=is_active, is_superuser=is_superuser
    )
    return _paged([AdminUserOut.model_validate(u) for u in users], total, page, page_size, total_pages)


@router.patch(
    "/users/{user_id}", response_model=ApiResponse[AdminUserOut], responses=error_responses(400, 401, 403, 404, 422)
)
async def update_user(
    user_id: uuid.UUID, data: AdminUserUpdate, actor: SuperUser, session: SessionDep
) -> dict[str, Any]:
    """Switch an account on or off (off ends all its sessions: tokens and WebSockets), grant or take
    superuser rights, or set its upload quotas (`quota_documents_per_day`, `quota_storage_bytes`: 0 =
    unlimited, null = back to the QUOTA_* default). Your own account cannot be switched off or demoted
    (400 CANNOT_CHANGE_OWN_ACCOUNT)."""
    quotas = {name: getattr(data, name) for name in admin_service.QUOTA_OVERRIDES if name in data.model_fields_set}
    updated = await admin_service.update_user(
        session, actor, user_id, is_active=data.is_active, is_superuser=data.is_superuser, quotas=quotas
    )
    return ok(AdminUserOut.model_validate(updated), "User updated")


@router.get("/documents", response_model=PagedResponse[AdminDocumentOut], responses=error_responses(401, 403, 422))
async def list_documents(
    session: SessionDep,
    status_filter: Annotated[DocumentStatusName | None, Query(alias="status")] = None,
    file_type: FileFamilyName | None = None,
    search: Annotated[SearchText, Query(description="Part of the file name")] = None,
    owner: Annotated[SearchText, Query(description="The owner's username or id")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Everyone's documents: failed first, then newest first, with the owner, attempts and error."""
    rows, total, total_pages = await admin_service.list_documents(
        session, page=page, page_size=page_size, status=status_filter, file_type=file_type, search=search, owner=owner
    )
    return _paged([_admin_document(d, name) for d, name in rows], total, page, page_size, total_pages)


@router.post(
    "/documents/{document_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ApiResponse[AdminDocumentOut],
    responses=error_responses(401, 403, 404, 409),
)
async def retry_document(document_id: DocumentId, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Process any user's document again (a new run), as its owner's reprocess does; 409 while one runs."""
    document, username = await admin_service.retry(session, document_id, settings)
    return ok(_admin_document(document, username), "Reprocessing queued")


@router.get("/operations", response_model=ApiResponse[OperationsOut], responses=error_responses(401, 403, 422))
async def operations(
    session: SessionDep,
    settings: SettingsDep,
    hours: Annotated[int, Query(ge=1, le=admin_service.MAX_OPERATIONS_HOURS)] = 24,
) -> dict[str, Any]:
    """Queues (depth), live workers, the broker, hourly throughput and failure rate, storage, totals."""
    return ok(await admin_service.operations(session, settings, hours))
