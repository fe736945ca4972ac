"""Dependency aliases used by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.errors import InactiveUser, InvalidToken, NotAuthenticated
from fastapi_app.core.security import TokenClaims, decode_token
from fastapi_app.db.session import get_async_session
from fastapi_app.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)

SessionDep = Annotated[AsyncSession, Depends(get_async_session)]


async def _settings() -> Settings:
    # async: a plain-function dependency would run in the thread pool on every request.
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


async def get_access_claims(token: TokenDep) -> TokenClaims:
    """The verified access token only; the account is not looked up. A route using this must check that
    the account exists and is active itself, e.g. with a join in its own query (one round trip instead
    of two), and call `check_account` when that query finds nothing to get the right 401/403.
    async although it never awaits: FastAPI would run a plain function in the thread pool."""
    if not token:
        raise NotAuthenticated()
    return decode_token(token, "access")


AccessClaims = Annotated[TokenClaims, Depends(get_access_claims)]


async def check_account(session: AsyncSession, claims: TokenClaims) -> User:
    user = await session.get(User, claims.subject)
    if user is None:
        # A valid signature for a user that no longer exists: the token is no longer valid.
        raise InvalidToken("The token's user no longer exists.")
    if not user.is_active:
        raise InactiveUser()
    return user


async def get_current_user(request: Request, session: SessionDep, claims: AccessClaims) -> User:
    user = await check_account(session, claims)
    request.state.user_id = str(user.id)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
