"""Registration, login and refresh-token rotation with reuse detection."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import anyio
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import EmailTaken, InactiveUser, InvalidCredentials, InvalidToken, UsernameTaken
from fastapi_app.core.security import (
    create_token,
    decode_token,
    dummy_password_hash,
    hash_password,
    verify_password,
)
from fastapi_app.models import RefreshToken, User
from fastapi_app.schemas.user import TokenResponse, UserCreate


async def register(session: AsyncSession, data: UserCreate) -> User:
    email = data.email.lower()
    existing = (
        await session.execute(
            select(User.username, User.email).where(or_(User.username == data.username, User.email == email))
        )
    ).first()
    if existing is not None:
        raise UsernameTaken() if existing.username == data.username else EmailTaken()
    # argon2 is deliberately slow: keep it off the event loop.
    hashed = await anyio.to_thread.run_sync(hash_password, data.password)
    user = User(username=data.username, email=email, full_name=data.full_name, hashed_password=hashed)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:  # lost a race with a concurrent registration
        await session.rollback()
        raise UsernameTaken("This username or email is already registered.") from exc
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    user = (
        await session.execute(select(User).where(or_(User.username == username, User.email == username.lower())))
    ).scalar_one_or_none()
    hashed = user.hashed_password if user else dummy_password_hash()
    valid = await anyio.to_thread.run_sync(verify_password, password, hashed)
    if user is None or not valid:
        raise InvalidCredentials()
    if not user.is_active:
        raise InactiveUser()
    return user


async def issue_tokens(session: AsyncSession, user: User, *, family: str | None = None) -> TokenResponse:
    settings = get_settings()
    access, _ = create_token(user.id, "access")
    refresh, claims = create_token(user.id, "refresh", family=family or secrets.token_hex(16))
    session.add(
        RefreshToken(jti=claims.jti, user_id=user.id, family_id=claims.family or "", expires_at=claims.expires_at)
    )
    await session.commit()
    return TokenResponse(
        access_token=access,
        refresh_token=refresh,
        expires_in=settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
    )


async def rotate_refresh_token(session: AsyncSession, token: str) -> TokenResponse:
    claims = decode_token(token, "refresh")
    now = datetime.now(UTC)
    stored = await session.get(RefreshToken, claims.jti)
    if stored is None or stored.user_id != claims.subject:
        raise InvalidToken("Unknown refresh token.")
    if stored.used_at is not None or stored.revoked_at is not None:
        # A used token presented again means it was copied: revoke the whole family.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == stored.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await session.commit()
        raise InvalidToken("This refresh token was already used; log in again.")
    # Mark used with a conditional update so two concurrent refreshes cannot both win.
    result = await session.execute(
        update(RefreshToken).where(RefreshToken.jti == stored.jti, RefreshToken.used_at.is_(None)).values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise InvalidToken("This refresh token was already used; log in again.")
    user = await session.get(User, claims.subject)
    if user is None:
        raise InvalidToken("The token's user no longer exists.")
    if not user.is_active:
        raise InactiveUser()
    return await issue_tokens(session, user, family=stored.family_id)
