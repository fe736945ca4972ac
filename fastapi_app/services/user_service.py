from __future__ import annotations

import uuid

import anyio
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import EmailTaken, UserNotFound, WrongPassword
from fastapi_app.core.security import hash_password, verify_password
from fastapi_app.models import User
from fastapi_app.realtime.publisher import announce_sessions_ended
from fastapi_app.schemas.user import UserUpdate
from fastapi_app.services.auth_service import ACCOUNT_DISABLED, PASSWORD_CHANGED, revoke_all_sessions
from fastapi_app.services.webhook_service import validate_target_url


async def update_profile(session: AsyncSession, user: User, data: UserUpdate) -> User:
    if data.email is not None and data.email.lower() != user.email:
        email = data.email.lower()
        taken = await session.scalar(select(User.id).where(User.email == email, User.id != user.id))
        if taken is not None:
            raise EmailTaken()
        user.email = email
    if "full_name" in data.model_fields_set:
        user.full_name = data.full_name
    if "webhook_url" in data.model_fields_set:
        user.webhook_url = await validate_target_url(data.webhook_url, get_settings(), field_name="webhook_url")
    ended_sessions_version: int | None = None
    if data.new_password is not None:
        ok = await anyio.to_thread.run_sync(verify_password, data.current_password or "", user.hashed_password)
        if not ok:
            raise WrongPassword()
        user.hashed_password = await anyio.to_thread.run_sync(hash_password, data.new_password)
        # Whoever knew the old password may hold a session: every one ends, this one included.
        ended_sessions_version = await revoke_all_sessions(session, user.id)
    await session.commit()
    await session.refresh(user)
    if ended_sessions_version is not None:
        await announce_sessions_ended(user.id, ended_sessions_version, PASSWORD_CHANGED)
    return user


async def set_active(session: AsyncSession, user: User, active: bool) -> User:
    """Enable or disable an account. Disabling ends all its sessions: refresh tokens, access tokens
    and open WebSockets."""
    user.is_active = active
    ended_sessions_version = None if active else await revoke_all_sessions(session, user.id)
    await session.commit()
    await session.refresh(user)
    if ended_sessions_version is not None:
        await announce_sessions_ended(user.id, ended_sessions_version, ACCOUNT_DISABLED)
    return user


async def find_by_login(session: AsyncSession, login: str) -> User:
    """The account a username or an email names (as login accepts either)."""
    user = await session.scalar(select(User).where(or_(User.username == login, User.email == login.lower())))
    if user is None:
        raise UserNotFound()
    return user


async def get_visible_user(session: AsyncSession, viewer: User, user_id: uuid.UUID) -> User:
    """Users see themselves; superusers see anyone; everyone else gets 404, not 403."""
    if user_id != viewer.id and not viewer.is_superuser:
        raise UserNotFound()
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user
