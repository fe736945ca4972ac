from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fastapi_app.db.base import Base, TimestampMixin, new_id, utcnow


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(50), unique=True, index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    # Carried by every token as `ver`; raised to end all sessions at once (password change, logout-all,
    # disabled account): tokens with an older value are refused by the account check of each request.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Default webhook target for documents uploaded without a callback_url.
    webhook_url: Mapped[str | None] = mapped_column(Text)
    # HMAC key for webhook signatures, Fernet-encrypted; generated on first need.
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    # An admin's per-account upload quotas; null = the QUOTA_* settings' default, 0 = unlimited.
    quota_documents_per_day: Mapped[int | None] = mapped_column(Integer)
    quota_storage_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # Uploads accepted on `uploads_day` (a day of QUOTA_TIMEZONE): a counter, not a count of the rows,
    # so deleting a document gives back its storage but not its place in the day's quota.
    uploads_day: Mapped[date | None] = mapped_column()
    uploads_today: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RefreshToken(Base):
    """One row per issued refresh token, so rotation can detect a stolen token being reused."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
