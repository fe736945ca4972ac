"""What every resolver of one GraphQL request (or one WebSocket) shares: the token, the settings and
one database session, used by one resolver at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.fastapi import BaseContext

from fastapi_app.core.config import Settings
from fastapi_app.core.errors import NotAuthenticated
from fastapi_app.core.security import TokenClaims, decode_token
from fastapi_app.models import User
from fastapi_app.services import access_service


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (the scheme in any case), else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def connection_token(params: Any) -> str | None:
    """The token of a graphql-transport-ws `connection_init` payload: `{"token": ...}` or
    `{"Authorization": "Bearer ..."}` (any case of the key, as GraphiQL's headers would send it)."""
    if not isinstance(params, dict):
        return None
    token = params.get("token")
    if isinstance(token, str) and token:
        return token
    for key, value in params.items():
        if isinstance(key, str) and key.lower() == "authorization" and isinstance(value, str):
            return bearer_token(value)
    return None


class GraphQLContext(BaseContext):
    def __init__(self, session: AsyncSession, settings: Settings, token: str | None) -> None:
        super().__init__()
        self.settings = settings
        self.token = token
        # Set by the WebSocket's connection_init, once its token is checked (router.py).
        self.socket_claims: TokenClaims | None = None
        self._session = session
        # graphql-core resolves sibling fields concurrently; an AsyncSession serves one at a time.
        self._session_lock = asyncio.Lock()
        self._user: User | None = None

    def claims(self) -> TokenClaims:
        """The verified access token (signature, type, expiry); 401 without one. Whether the account
        still accepts it is checked by the service call each resolver makes, as in REST."""
        if self.socket_claims is not None:
            return self.socket_claims
        if self.token is None:
            raise NotAuthenticated()
        return decode_token(self.token, "access")

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self._session_lock:
            yield self._session

    async def user(self) -> User:
        """The token's account, checked as REST's CurrentUser is (401 gone or signed out, 403 disabled)."""
        if self._user is None:
            claims = self.claims()
            async with self.db() as session:
                self._user = await access_service.load_account(session, claims.subject, claims.version)
        return self._user
