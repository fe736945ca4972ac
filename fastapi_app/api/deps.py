"""Dependency aliases used by every router."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.errors import DocumentNotFound, NotAuthenticated, SuperuserRequired
from fastapi_app.core.security import TokenClaims, decode_token
from fastapi_app.db.session import get_async_session
from fastapi_app.models import Document, User
from fastapi_app.services import access_service


class AccessTokenBearer(OAuth2PasswordBearer):
    """The bearer token, verified, as one dependency: a separate token dependency and claims dependency
    cost a second round of FastAPI's dependency solving on every request. Being an OAuth2PasswordBearer,
    it still gives OpenAPI its security scheme (Swagger's Authorize button).

    The account is not looked up. A route using this must check that the account exists, is active and
    still accepts the token's version (`users.token_version == claims.version`: sessions end by raising
    it) itself, e.g. with `owned_by_account` joined into its own query (one round trip instead of two),
    and call `access_service.check_account` when that query finds nothing to get the right 401/403."""

    async def __call__(self, request: Request) -> TokenClaims:  # type: ignore[override]
        token = await super().__call__(request)
        if not token:
            raise NotAuthenticated()
        return decode_token(token, "access")


# The scheme keeps the name it had in the published OpenAPI document.
access_token = AccessTokenBearer(tokenUrl="/api/v1/auth/login", auto_error=False, scheme_name="OAuth2PasswordBearer")

SessionDep = Annotated[AsyncSession, Depends(get_async_session)]


async def _settings() -> Settings:
    # async: a plain-function dependency would run in the thread pool on every request.
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]
AccessClaims = Annotated[TokenClaims, Depends(access_token)]


async def get_active_account(claims: AccessClaims) -> TokenClaims:
    """The verified token of an account that exists, is active and has not ended the token's session,
    without loading the User through the ORM: for routes that need only the account's id, such as the upload."""
    if not await access_service.accepts(claims.subject, claims.version):
        await access_service.check_account(claims.subject, claims.version)  # raises the 401 or 403
    return claims


ActiveAccount = Annotated[TokenClaims, Depends(get_active_account)]


async def get_current_user(session: SessionDep, claims: AccessClaims) -> User:
    return await access_service.load_account(session, claims.subject, claims.version)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_superuser(user: CurrentUser) -> User:
    """The current user, who must be a superuser: 401 without a valid token, 403 SUPERUSER_REQUIRED otherwise."""
    if not user.is_superuser:
        raise SuperuserRequired()
    return user


SuperUser = Annotated[User, Depends(get_superuser)]


def parse_document_id(document_id: str) -> uuid.UUID:
    # Anything that is not one of our ids is simply not found: no hint about the id format.
    try:
        return uuid.UUID(document_id)
    except ValueError:
        raise DocumentNotFound() from None


async def _document_id(document_id: str) -> uuid.UUID:
    # async: FastAPI runs a plain-function dependency in the thread pool, a hop on every request.
    return parse_document_id(document_id)


DocumentId = Annotated[uuid.UUID, Depends(_document_id)]


async def get_owned_document(document_id: DocumentId, claims: AccessClaims, session: SessionDep) -> Document:
    # In this order, as when routes took DocumentId then CurrentUser: a malformed id is 404 before
    # the token is looked at, and the account's 401/403 comes before the document's 404.
    return await access_service.get_owned(session, claims.subject, claims.version, document_id)


OwnedDocument = Annotated[Document, Depends(get_owned_document)]
"""The path's `document_id`, owned by the token's account, which accepts the token: one query."""
