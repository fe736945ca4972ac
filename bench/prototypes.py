"""The bare prototypes issue 7's targets are measured against, as one ASGI app for the same-run baselines.

`bench/http.py` starts this beside the service (`python -m uvicorn bench.prototypes:app`, one process,
the stack's environment: the same database with the same seeded documents, the same secret) and runs
wrk against both in turn, so every target's figure has its baseline from the same minutes on the same
machine. On this shared VM absolute req/s drift by a factor of two between hours; the ratio is what a
target can be held to. Each prototype is what a straightforward first version would be, with nothing
of the service's: no middleware, no access log, no rate limit, no token cache.

- `GET /plain`: a plain JSON GET (FastAPI, a dict).
- `GET /sqlalchemy/documents/{id}`: FastAPI + PyJWT + an SQLAlchemy async session: `session.get`, owner
  check, `DocumentOut` as the response model.
- `GET /asyncpg/documents/{id}`: the same on a raw asyncpg pool (`fetchrow`), the row returned as a dict.
- `GET /sqlalchemy/documents/`: the list page (owner, status and type filters, newest first, 20) and its
  count, through the session.
- `POST /upload`: the bare streaming upload: the body streamed, hashed (sha256) and written to a temp
  file; 202 with the hash and size. No parsing, no sniffing, no database, no queue, no fsync.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from fastapi_app.core.config import get_settings
from fastapi_app.core.security import jwt_signing_key
from fastapi_app.models import Document
from fastapi_app.schemas.common import ApiResponse, PagedResponse
from fastapi_app.schemas.document import DocumentOut

settings = get_settings()
signing_key = jwt_signing_key(settings.SECRET_KEY)  # the service's tokens are signed with the derived key
engine = create_async_engine(settings.async_database_url)
sessions = async_sessionmaker(engine, expire_on_commit=False)
pools: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    dsn = make_url(settings.DATABASE_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    pools["asyncpg"] = await asyncpg.create_pool(dsn)
    yield
    await pools["asyncpg"].close()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


async def current_user_id(request: Request) -> uuid.UUID:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401)
    try:
        claims = jwt.decode(token, signing_key, algorithms=[settings.JWT_ALGORITHM])
    except jwt.PyJWTError:
        raise HTTPException(401) from None
    return uuid.UUID(claims["sub"])


UserId = Annotated[uuid.UUID, Depends(current_user_id)]
Session = Annotated[AsyncSession, Depends(get_session)]


@app.get("/plain")
async def plain() -> dict[str, Any]:
    return {"success": True, "message": "OK", "data": {"status": "ok"}}


@app.get("/sqlalchemy/documents/{document_id}", response_model=ApiResponse[DocumentOut])
async def sqlalchemy_document(document_id: uuid.UUID, user_id: UserId, session: Session) -> dict[str, Any]:
    document = await session.get(Document, document_id)
    if document is None or document.owner_id != user_id:
        raise HTTPException(404)
    return {"success": True, "message": "OK", "data": document}


@app.get("/asyncpg/documents/{document_id}")
async def asyncpg_document(document_id: uuid.UUID, user_id: UserId) -> dict[str, Any]:
    row = await pools["asyncpg"].fetchrow(
        "SELECT * FROM documents WHERE id = $1 AND owner_id = $2", document_id, user_id
    )
    if row is None:
        raise HTTPException(404)
    return {"success": True, "message": "OK", "data": dict(row)}


@app.get("/sqlalchemy/documents/", response_model=PagedResponse[DocumentOut])
async def sqlalchemy_list(
    user_id: UserId,
    session: Session,
    page: int = 1,
    page_size: int = 20,
    status: str | None = None,
    file_type: str | None = None,
) -> dict[str, Any]:
    where = [Document.owner_id == user_id]
    if status:
        where.append(Document.status == status)
    if file_type:
        where.append(Document.file_type == file_type)
    total = await session.scalar(select(func.count()).select_from(Document).where(*where)) or 0
    page_query = select(Document).where(*where).order_by(Document.created_at.desc())
    documents = await session.scalars(page_query.limit(page_size).offset((page - 1) * page_size))
    return {
        "success": True,
        "message": "OK",
        "data": list(documents),
        "total": total,
        "page": page,
        "page_size": page_size,
        "total_pages": -(-total // page_size),
    }


@app.post("/upload", status_code=202)
async def upload(request: Request) -> dict[str, Any]:
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=settings.UPLOAD_DIR) as temp:
        async for chunk in request.stream():
            digest.update(chunk)
            temp.write(chunk)
        size = temp.tell()
    return {"success": True, "message": "OK", "data": {"sha256": digest.hexdigest(), "size": size}}
