"""Dependency aliases used by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.errors import InactiveUser, InvalidToken, NotAuthenticated, TokenRevoked
from fastapi_app.core.security import TokenClaims, decode_token
from fastapi_app.db.session import async_session_factory, get_async_session
from fastapi_app.models import User
from fastapi_app.services import user_service


class AccessTokenBearer(OAuth2PasswordBearer):
    """The bearer token, verified, as one dependency: a separate token dependency and claims dependency
    cost a second round of FastAPI's dependency solving on every request. Being an OAuth2PasswordBearer,
    it still gives OpenAPI its security scheme (Swagger's Authorize button).

    The account is not looked up. A route using this must check that the account exists, is active and
    still accepts the token's version (`users.token_version == claims.version`: sessions end by raising
    it) itself, e.g. with a join in its own query (one round trip instead of two), and call
    `check_account` / `check_token_account` when that query finds nothing to get the right 401/403."""

    async def __call__(self, request: Request) -> TokenClaims:  # type: ignore[override]
        token = await super().__call__(request)
        if not token:
            raise NotAuthenticated()
        return decode_token(token, "access")


# The scheme keeps the name it had in the published OpenAPI document.
access_token = AccessTokenBearer(tokenUrl="/api/auth/login", auto_error=False, scheme_name="OAuth2PasswordBearer")

SessionDep = Annotated[AsyncSession, Depends(get_async_session)]


async def _settings() -> Settings:
    # async: a plain-function dependency would run in the thread pool on every request.
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]
AccessClaims = Annotated[TokenClaims, Depends(access_token)]


async def check_account(session: AsyncSession, claims: TokenClaims) -> User:
    user = await session.get(User, claims.subject)
    if user is None:
        # A valid signature for a user that no longer exists: the token is no longer valid.
        raise InvalidToken("The token's user no longer exists.")
    if not user.is_active:
        raise InactiveUser()
    if user.token_version != claims.version:
        # Issued before the account's sessions ended (password change, logout-all).
        raise TokenRevoked()
    return user


async def check_token_account(claims: TokenClaims) -> None:
    """`check_account` for the routes that run without a session (the hot reads): their query found
    nothing, and the account decides between 401/403 and the route's own answer."""
    async with async_session_factory()() as session:
        await check_account(session, claims)


async def get_active_account(claims: AccessClaims) -> TokenClaims:
    """The verified token of an account that exists, is active and has not ended the token's session,
    without loading the User through the ORM: for routes that need only the account's id, such as the upload."""
    if not await user_service.is_active_account(claims.subject, claims.version):
        await check_token_account(claims)  # raises the 401 (account gone, token revoked) or 403 (disabled)
    return claims


ActiveAccount = Annotated[TokenClaims, Depends(get_active_account)]


async def get_current_user(session: SessionDep, claims: AccessClaims) -> User:
    return await check_account(session, claims)


CurrentUser = Annotated[User, Depends(get_current_user)]
