"""Registration, login, refresh-token rotation with reuse detection, and the end of sessions.

A session is a refresh-token family: each refresh uses up the presented token and issues the next
one of the family; a used token presented again is a copy, and revokes the family. Ending all of an
account's sessions (password change, logout-all, disabled account) revokes every refresh token and
raises the account's token_version, which every access token carries: the account check each request
makes against the database refuses older ones, in every API process at once.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import anyio
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import InactiveUser, InvalidCredentials, InvalidToken, UsernameTaken
from fastapi_app.core.security import (
    create_token,
    decode_token,
    dummy_password_hash,
    hash_password,
    verify_password,
)
from fastapi_app.db.base import new_id
from fastapi_app.models import RefreshToken, User
from fastapi_app.realtime.publisher import announce_sessions_ended
from fastapi_app.schemas.user import TokenResponse, UserCreate

# Why the sessions ended: the reason a WebSocket is closed with.
PASSWORD_CHANGED = "password changed"
LOGGED_OUT_EVERYWHERE = "logged out everywhere"
ACCOUNT_DISABLED = "account disabled"


async def register(session: AsyncSession, data: UserCreate) -> User:
    """The new user. An email that is already registered gets the same answer as a new one (a user
    that is never stored): registration must not tell a stranger whose email has an account. The
    username is different: it is public, and a person choosing one must learn that it is taken."""
    email = data.email.lower()
    # argon2 is deliberately slow: keep it off the event loop. Hashed on every path, so the answer
    # for a registered email takes as long as a real registration.
    hashed = await anyio.to_thread.run_sync(hash_password, data.password)
    existing = (
        await session.execute(
            select(User.username, User.email).where(or_(User.username == data.username, User.email == email))
        )
    ).all()
    if any(row.username == data.username for row in existing):
        raise UsernameTaken()
    if existing:  # the email belongs to another account
        return _unsaved_user(data, email, hashed)
    user = User(username=data.username, email=email, full_name=data.full_name, hashed_password=hashed)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:  # lost a race with a concurrent registration
        await session.rollback()
        if await session.scalar(select(User.id).where(User.username == data.username)) is not None:
            raise UsernameTaken() from exc
        return _unsaved_user(data, email, hashed)
    return user


def _unsaved_user(data: UserCreate, email: str, hashed: str) -> User:
    """What a successful registration would have answered; never added to a session."""
    now = datetime.now(UTC)
    return User(
        id=new_id(),
        username=data.username,
        email=email,
        full_name=data.full_name,
        hashed_password=hashed,
        is_active=True,
        is_superuser=False,
        webhook_url=None,
        token_version=0,
        created_at=now,
        updated_at=now,
    )


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
    access, _ = create_token(user.id, "access", version=user.token_version)
    refresh, claims = create_token(
        user.id, "refresh", version=user.token_version, family=family or secrets.token_hex(16)
    )
    session.add(
        RefreshToken(jti=claims.jti, user_id=user.id, family_id=claims.family or "", expires_at=claims.expires_at)
    )
    await session.commit()
    return TokenResponse(
        access_token=access,
        refresh_token=refresh,
        expires_in=settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
    )


async def _revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def rotate_refresh_token(session: AsyncSession, token: str) -> TokenResponse:
    tokens, _ = await rotate_session(session, token)
    return tokens


async def rotate_session(session: AsyncSession, token: str) -> tuple[TokenResponse, User]:
    """`rotate_refresh_token`, also giving the account (the web session answers with the user)."""
    claims = decode_token(token, "refresh")
    now = datetime.now(UTC)
    stored = await session.get(RefreshToken, claims.jti)
    if stored is None or stored.user_id != claims.subject:
        raise InvalidToken("Unknown refresh token.")
    if stored.revoked_at is not None:
        raise InvalidToken("This session has ended; log in again.")
    if stored.used_at is not None:
        # A used token presented again means it was copied: revoke the whole family.
        await _revoke_family(session, stored.family_id, now)
        await session.commit()
        raise InvalidToken("This refresh token was already used; log in again.")
    # Mark used with a conditional update so two concurrent refreshes cannot both win, nor a refresh
    # win against a revocation committed since the row was read.
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.jti == stored.jti, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise InvalidToken("This refresh token was already used; log in again.")
    user = await session.get(User, claims.subject)
    if user is None:
        raise InvalidToken("The token's user no longer exists.")
    if not user.is_active:
        raise InactiveUser()
    if claims.version != user.token_version:
        # Issued before the account's sessions ended (a login racing a password change, whose row
        # was written after the revocation): it must not start a new chain.
        await _revoke_family(session, stored.family_id, now)
        await session.commit()
        raise InvalidToken("This session has ended; log in again.")
    return await issue_tokens(session, user, family=stored.family_id), user


async def logout(session: AsyncSession, token: str) -> None:
    """End the session the refresh token belongs to: its whole family is revoked. Logging out twice is
    not an error. The session's access token stays valid until it expires (ACCESS_TOKEN_EXPIRE_MINUTES);
    `logout_all` ends those too."""
    claims = decode_token(token, "refresh")
    stored = await session.get(RefreshToken, claims.jti)
    if stored is None or stored.user_id != claims.subject:
        raise InvalidToken("Unknown refresh token.")
    await _revoke_family(session, stored.family_id, datetime.now(UTC))
    await session.commit()


async def revoke_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Inside the caller's transaction: revoke every refresh token of the account and raise its
    token_version. Returns the new version; once committed, pass it to `announce_sessions_ended`."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    version = await session.scalar(
        update(User)
        .where(User.id == user_id)
        .values(token_version=User.token_version + 1)
        .returning(User.token_version)
        .execution_options(synchronize_session=False)
    )
    if version is None:
        raise InvalidToken("The token's user no longer exists.")
    return int(version)


async def logout_all(session: AsyncSession, user: User) -> None:
    version = await revoke_all_sessions(session, user.id)
    await session.commit()
    user.token_version = version
    await announce_sessions_ended(user.id, version, LOGGED_OUT_EVERYWHERE)
