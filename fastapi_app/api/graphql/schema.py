"""The schema: queries, mutations and the subscription. Resolvers are thin: each calls the service
function its REST route calls, with the same ownership and account checks (api/deps.py)."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule
from starlette.websockets import WebSocket
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.scalars import JSON
from strawberry.types import ExecutionContext, Info

from fastapi_app.api.deps import parse_document_id
from fastapi_app.api.graphql.context import GraphQLContext
from fastapi_app.api.graphql.errors import apply as apply_error_code
from fastapi_app.api.graphql.types import (
    DocumentEventType,
    ExtractionType,
    ReportType,
    UploadWarningType,
    UserType,
    WebhookDeliveryType,
    document_id_of,
    document_values,
)
from fastapi_app.core.config import Settings
from fastapi_app.core.errors import DocumentNotFound, ReportNotFound, ValidationFailed
from fastapi_app.core.vocabulary import DocumentStatus, FileFamily
from fastapi_app.models import Document
from fastapi_app.realtime.hub import Connection, get_hub
from fastapi_app.services import access_service, document_service, report_service, webhook_service

GraphQLInfo = Info[GraphQLContext, None]
# The application range's "401" of /ws: the token expired or its session ended.
SESSION_ENDED = 4401

DocumentStatusFilter = strawberry.enum(
    enum.Enum("DocumentStatusFilter", {m.name: m.value for m in DocumentStatus}), name="DocumentStatus"
)
FileFamilyFilter = strawberry.enum(
    enum.Enum("FileFamilyFilter", {m.name: m.value for m in FileFamily}), name="FileFamily"
)


async def _owned(info: GraphQLInfo, document_id: uuid.UUID) -> Document:
    """REST's OwnedDocument: the account's 401/403, else 404 DOCUMENT_NOT_FOUND for anyone else's id."""
    context = info.context
    claims = context.claims()
    async with context.db() as session:
        return await access_service.get_owned(session, claims.subject, claims.version, document_id)


@strawberry.type(description="A document (REST: DocumentOut), with its details on demand")
class DocumentType:
    id: strawberry.ID
    original_filename: str
    file_type: str
    mime_type: str
    size_bytes: int
    sha256: str
    status: str
    stage: str
    progress: int
    error_code: str | None
    error_message: str | None
    upload_warnings: list[UploadWarningType]
    duplicate_of_id: strawberry.ID | None
    current_run: int
    attempts: int
    queued_at: datetime
    processing_started_at: datetime | None
    completed_at: datetime | None
    processing_ms: int | None
    created_at: datetime
    updated_at: datetime
    # The loaded row when there is one; the details re-check ownership through it or by id.
    orm: strawberry.Private[Document | None] = None

    @classmethod
    def of(cls, source: Any) -> DocumentType:
        values = document_values(source)
        duplicate = values["duplicate_of_id"]
        return cls(
            id=strawberry.ID(str(document_id_of(values))),
            original_filename=values["original_filename"],
            file_type=values["file_type"],
            mime_type=values["mime_type"],
            size_bytes=values["size_bytes"],
            sha256=values["sha256"],
            status=values["status"],
            stage=values["stage"],
            progress=values["progress"],
            error_code=values["error_code"],
            error_message=values["error_message"],
            upload_warnings=[
                UploadWarningType(code=w["code"], message=w["message"]) for w in values["upload_warnings"] or []
            ],
            duplicate_of_id=strawberry.ID(str(duplicate)) if duplicate else None,
            current_run=values["current_run"],
            attempts=values["attempts"],
            queued_at=values["queued_at"],
            processing_started_at=values["processing_started_at"],
            completed_at=values["completed_at"],
            processing_ms=values["processing_ms"],
            created_at=values["created_at"],
            updated_at=values["updated_at"],
            orm=source if isinstance(source, Document) else None,
        )

    async def _document(self, info: GraphQLInfo) -> Document:
        if self.orm is None:
            self.orm = await _owned(info, uuid.UUID(str(self.id)))
        return self.orm

    @strawberry.field(description="The latest extraction result; DOCUMENT_NOT_READY until completed")
    async def extraction(self, info: GraphQLInfo) -> ExtractionType:
        document = await self._document(info)
        async with info.context.db() as session:
            return ExtractionType.of(await document_service.get_extraction(session, document))

    @strawberry.field(description="Every report version, newest first")
    async def reports(self, info: GraphQLInfo) -> list[ReportType]:
        document = await self._document(info)
        async with info.context.db() as session:
            return [ReportType.of(r) for r in await report_service.list_reports(session, document)]

    @strawberry.field(description="One report version of this document; REPORT_NOT_FOUND otherwise")
    async def report(self, info: GraphQLInfo, id: strawberry.ID) -> ReportType:
        document = await self._document(info)
        try:
            report_id = uuid.UUID(str(id))
        except ValueError:
            raise ReportNotFound() from None
        user = await info.context.user()
        async with info.context.db() as session:
            return ReportType.of(await report_service.get_owned_report(session, user, document.id, report_id))

    @strawberry.field(description="The processing timeline: every event of every run, oldest first")
    async def events(self, info: GraphQLInfo) -> list[DocumentEventType]:
        document = await self._document(info)
        async with info.context.db() as session:
            return [DocumentEventType.of(e) for e in await document_service.list_events(session, document)]

    @strawberry.field(description="Webhook deliveries, newest first, each with every attempt")
    async def webhook_deliveries(self, info: GraphQLInfo) -> list[WebhookDeliveryType]:
        document = await self._document(info)
        async with info.context.db() as session:
            deliveries = await webhook_service.list_deliveries(session, document.id)
        return [WebhookDeliveryType.of(d) for d in deliveries]


@strawberry.type
class DocumentPage:
    items: list[DocumentType]
    total: int
    page: int
    page_size: int
    total_pages: int


@strawberry.type(description="REST: GET /api/documents/stats/summary (and /stats/timeseries)")
class StatsType:
    total_documents: int
    by_status: JSON
    by_type: JSON
    total_size_bytes: float = strawberry.field(description="A Float: a GraphQL Int stops at 2^31")
    average_size_bytes: float | None
    processing_ms: JSON
    success_rate: float | None
    last_24h: JSON
    recent: list[DocumentType]

    @strawberry.field(description="Uploads per day in `tz` over the last `days` days, today included")
    async def timeseries(self, info: GraphQLInfo, days: int = 30, tz: str = "Asia/Seoul") -> JSON:
        user = await info.context.user()
        async with info.context.db() as session:
            return await document_service.timeseries(session, user, days, tz)


def _document_id(id: strawberry.ID) -> uuid.UUID:
    return parse_document_id(str(id))


def _bounded(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValidationFailed(
            f"{name} must be between {low} and {high}.",
            details={"errors": [{"loc": ["args", name], "msg": "out of range", "input": value}]},
        )
    return value


@strawberry.type
class Query:
    @strawberry.field(description="The current account")
    async def me(self, info: GraphQLInfo) -> UserType:
        return UserType.of(await info.context.user())

    @strawberry.field(description="Your documents: the filters, sort and paging of GET /api/documents/")
    async def documents(
        self,
        info: GraphQLInfo,
        page: int = 1,
        page_size: int = 20,
        status: DocumentStatusFilter | None = None,  # type: ignore[valid-type]
        file_type: FileFamilyFilter | None = None,  # type: ignore[valid-type]
        search: str | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        sort: str = "-created_at",
    ) -> DocumentPage:
        _bounded("page", page, 1, 100_000)
        _bounded("pageSize", page_size, 1, 100)
        if search is not None and (len(search) > 255 or "\x00" in search):
            raise ValidationFailed("search must be at most 255 characters, without NUL.")
        claims = info.context.claims()
        rows, total, total_pages = await document_service.list_documents(
            claims.subject,
            token_version=claims.version,
            page=page,
            page_size=page_size,
            status=status.value if status is not None else None,
            file_type=file_type.value if file_type is not None else None,
            search=search,
            date_from=date_from,
            date_to=date_to,
            sort=sort,
        )
        return DocumentPage(
            items=[DocumentType.of(row) for row in rows],
            total=total,
            page=page,
            page_size=page_size,
            total_pages=total_pages,
        )

    @strawberry.field(description="One of your documents; DOCUMENT_NOT_FOUND for any other id")
    async def document(self, info: GraphQLInfo, id: strawberry.ID) -> DocumentType:
        return DocumentType.of(await _owned(info, _document_id(id)))

    @strawberry.field(description="Your numbers: GET /api/documents/stats/summary")
    async def stats(self, info: GraphQLInfo) -> StatsType:
        user = await info.context.user()
        async with info.context.db() as session:
            summary = await document_service.stats_summary(session, user)
        return StatsType(
            total_documents=summary["total_documents"],
            by_status=summary["by_status"],
            by_type=summary["by_type"],
            total_size_bytes=float(summary["total_size_bytes"]),
            average_size_bytes=summary["average_size_bytes"],
            processing_ms=summary["processing_ms"],
            success_rate=summary["success_rate"],
            last_24h=summary["last_24h"],
            recent=[DocumentType.of(d) for d in summary["recent"]],
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="POST /api/documents/{id}/reprocess: queued once committed")
    async def reprocess_document(self, info: GraphQLInfo, id: strawberry.ID) -> DocumentType:
        document = await _owned(info, _document_id(id))
        async with info.context.db() as session:
            document = await document_service.reprocess(session, document, info.context.settings)
        return DocumentType.of(document)

    @strawberry.mutation(description="DELETE /api/documents/{id}: the document, its file and its reports")
    async def delete_document(self, info: GraphQLInfo, id: strawberry.ID) -> bool:
        document = await _owned(info, _document_id(id))
        async with info.context.db() as session:
            await document_service.delete(session, document)
        return True


async def _until_session_ends(connection: Connection, expires_at: datetime) -> str:
    remaining = (expires_at - datetime.now(UTC)).total_seconds()
    try:
        await asyncio.wait_for(connection.ended.wait(), timeout=max(remaining, 0.0))
    except TimeoutError:
        return "token expired"
    return connection.end_reason or "session ended"


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Your documents' processing events as they happen (one document with documentId), from "
        "the hub /ws uses; the socket closes with 4401 when the token expires or its session ends"
    )
    async def document_events(
        self, info: GraphQLInfo, document_id: strawberry.ID | None = None
    ) -> AsyncGenerator[DocumentEventType, None]:
        claims = info.context.claims()
        only: uuid.UUID | None = None
        if document_id is not None:
            only = _document_id(document_id)
            if await document_service.find_for_active_owner(claims.subject, claims.version, only) is None:
                await access_service.check_account(claims.subject, claims.version)
                raise DocumentNotFound()
        hub = get_hub()
        connection = Connection(
            user_id=claims.subject, token_version=claims.version, document_id=str(only) if only else None
        )
        hub.register(connection)
        ending = asyncio.create_task(_until_session_ends(connection, claims.expires_at))
        try:
            # Sessions ended between the token check and the registration would have been missed.
            if not await access_service.accepts(claims.subject, claims.version):
                await access_service.check_account(claims.subject, claims.version)
            while True:
                message = asyncio.create_task(connection.queue.get())
                done, _ = await asyncio.wait({message, ending}, return_when=asyncio.FIRST_COMPLETED)
                if ending in done:
                    message.cancel()
                    await _close_socket(info, ending.result())
                    return
                if connection.overflowed:
                    await _close_socket(info, "too many unread events; resubscribe", code=1013)
                    return
                yield DocumentEventType.of_message(message.result())
        finally:
            ending.cancel()
            hub.unregister(connection)


async def _close_socket(info: GraphQLInfo, reason: str, code: int = SESSION_ENDED) -> None:
    """Close the WebSocket as /ws does; over HTTP (multipart subscriptions) the stream just ends."""
    socket = info.context.request
    if isinstance(socket, WebSocket):
        with contextlib.suppress(RuntimeError):
            await socket.close(code=code, reason=reason)


class AppSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Every error leaves in our vocabulary; unexpected ones are logged by to_app_error.
        for error in errors:
            apply_error_code(error)


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories: strawberry builds each extension afresh for every operation.
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=settings.GRAPHQL_MAX_TOKENS),
        lambda: QueryDepthLimiter(max_depth=settings.GRAPHQL_MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=settings.GRAPHQL_MAX_ALIASES),
    ]
    if not settings.graphql_introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return AppSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)
