from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=50, pattern=USERNAME_PATTERN)
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)
    full_name: str | None = Field(default=None, max_length=200)


class UserUpdate(BaseModel):
    email: EmailStr | None = None
    full_name: str | None = Field(default=None, max_length=200)
    current_password: str | None = Field(default=None, max_length=128)
    new_password: str | None = Field(default=None, min_length=8, max_length=128)
    webhook_url: str | None = Field(
        default=None, max_length=2048, description="Default webhook target; empty string or null removes it"
    )

    @model_validator(mode="after")
    def _password_change_needs_current(self) -> UserUpdate:
        if self.new_password is not None and not self.current_password:
            raise ValueError("current_password is required to set new_password")
        return self


class QuotaUsage(BaseModel):
    used: int
    limit: int | None = Field(description="null = unlimited")


class QuotaOut(BaseModel):
    documents_today: QuotaUsage = Field(description="Uploads accepted today (a day of QUOTA_TIMEZONE)")
    storage_bytes: QuotaUsage = Field(description="Bytes of the account's stored originals")
    day_resets_in_seconds: int = Field(description="Seconds until the next quota day starts")
    timezone: str = Field(description="The IANA zone whose midnight starts a quota day")


class UserIdentity(BaseModel):
    """The fields every view of an account shares: the user's own (`UserOut`) and the admin's (`AdminUserOut`)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool


class UserOut(UserIdentity):
    webhook_url: str | None = None
    created_at: datetime
    updated_at: datetime
    quota: QuotaOut | None = Field(default=None, description="Upload quotas and their use; GET /api/users/me only")


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=4096)


class SessionLogin(BaseModel):
    """The web app's login (form or JSON): the username or the email, and the password."""

    username: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class SessionOut(BaseModel):
    """The web app's session: the access token (kept in memory by the page) and the user; the refresh
    token travels only in the httpOnly `docproc_refresh` cookie."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    user: UserOut


class AdminUserOut(UserIdentity):
    # Not a UserOut: the admin list must not show anyone's webhook_url, and has no updated_at.
    created_at: datetime
    document_count: int
    storage_bytes: int = Field(description="Sum of the sizes of the user's uploaded originals")
    documents_today: int = Field(description="Uploads accepted today (a day of QUOTA_TIMEZONE)")
    quota_documents_per_day: int | None = Field(description="The account's override; null = the default")
    quota_storage_bytes: int | None = Field(description="The account's override; null = the default")
    documents_per_day_limit: int | None = Field(description="The limit in force; null = unlimited")
    storage_bytes_limit: int | None = Field(description="The limit in force; null = unlimited")


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: bool | None = Field(default=None, description="false ends every session of the account")
    is_superuser: bool | None = None
    quota_documents_per_day: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="Uploads a day; 0 = unlimited, null = back to the default"
    )
    quota_storage_bytes: int | None = Field(
        default=None, ge=0, le=2**63 - 1, description="Stored bytes; 0 = unlimited, null = back to the default"
    )
