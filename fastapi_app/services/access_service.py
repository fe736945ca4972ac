"""The account check and the ownership check of every request and WebSocket that carries a token.

One rule (fastapi_app/models/access.py), asked three ways:
- `load_account`: the User, through the request's ORM session (routes that need the account itself);
- `accepts`: yes or no in one raw query (fastapi_app/db/direct.py), for the hot paths and the WebSocket;
- joined into the query that reads the document (`get_owned` here; the hot reads in document_service):
  one round trip, and only when that query finds nothing is the account asked why (`check_account`),
  so that a deleted, disabled or signed-out account gets its 401/403 rather than a 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.errors import AppError, DocumentNotFound, InactiveUser, InvalidToken, TokenRevoked
from fastapi_app.core.security import TokenClaims, decode_token
from fastapi_app.db import direct
from fastapi_app.db.session import async_session_factory
from fastapi_app.models import Document, User
from fastapi_app.models.access import (
    AccountRefusal,
    accepts_token,
    account_refusal,
    documents_with_owner,
    owned_by_account,
)


def refusal_error(refusal: AccountRefusal) -> AppError:
    """The client-facing error of a refused account."""
    if refusal is AccountRefusal.DELETED:
        # A valid signature for a user that no longer exists: the token is no longer valid.
        return InvalidToken("The token's user no longer exists.")
    if refusal is AccountRefusal.DISABLED:
        return InactiveUser()
    # Issued before the account's sessions ended (password change, logout-all).
    return TokenRevoked()


async def load_account(session: AsyncSession, user_id: uuid.UUID, token_version: int) -> User:
    """The account, if it accepts a token of `token_version`; else its 401 (gone, signed out) or 403 (disabled)."""
    user = await session.get(User, user_id)
    refused = account_refusal(user, token_version)
    if refused is not None:
        raise refusal_error(refused)
    assert user is not None  # account_refusal refuses a missing account
    return user


async def refusal(user_id: uuid.UUID, token_version: int) -> AccountRefusal | None:
    """Why the account refuses a token of `token_version`, or None; in a session of its own (the rare path)."""
    async with async_session_factory()() as session:
        account = (await session.execute(select(User.is_active, User.token_version).where(User.id == user_id))).first()
    return account_refusal(account, token_version)


async def check_account(user_id: uuid.UUID, token_version: int) -> None:
    """For a query that joined the account check in and found nothing: raises the account's 401/403, or
    returns when the account is fine (and the caller answers its own "not found")."""
    found = await refusal(user_id, token_version)
    if found is not None:
        raise refusal_error(found)


def _accepting_account() -> Select[Any]:
    users = User.__table__
    return select(users.c.id).where(users.c.id == bindparam("user_id"), accepts_token())


async def accepts(user_id: uuid.UUID, token_version: int) -> bool:
    """Whether the account accepts a token of `token_version`, in one raw query (no ORM session)."""
    return bool(
        await direct.fetch("active-account", _accepting_account, {"user_id": user_id, "token_version": token_version})
    )


async def socket_claims(token: str | None) -> TokenClaims | None:
    """The claims of a valid access token whose account accepts it, else None: the rule of every
    WebSocket (/ws and GraphQL subscriptions), which closes the socket rather than answer an error."""
    if not token:
        return None
    try:
        claims = decode_token(token, "access")
    except AppError:
        return None
    return claims if await accepts(claims.subject, claims.version) else None


async def get_owned(session: AsyncSession, owner_id: uuid.UUID, token_version: int, document_id: uuid.UUID) -> Document:
    """The document, if `owner_id` owns it and that account accepts a token of `token_version`, in one
    query; else the account's 401/403, or 404 DOCUMENT_NOT_FOUND."""
    document = await session.scalar(
        select(Document)
        .select_from(documents_with_owner())
        .where(owned_by_account(owner_id, token_version), Document.id == document_id)
    )
    if document is None:
        await load_account(session, owner_id, token_version)
        raise DocumentNotFound()
    return document
