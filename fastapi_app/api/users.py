from __future__ import annotations

import uuid

from fastapi import APIRouter

from fastapi_app.api.deps import CurrentUser, SessionDep, SettingsDep
from fastapi_app.schemas.common import ApiResponse, error_responses, ok
from fastapi_app.schemas.user import QuotaOut, UserOut, UserUpdate
from fastapi_app.services import quota_service, user_service

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=ApiResponse[UserOut], responses=error_responses(401))
async def me(user: CurrentUser, settings: SettingsDep) -> dict[str, object]:
    """Your account, with your upload quotas beside their use (`quota`; a null limit = unlimited)."""
    out = UserOut.model_validate(user)
    out.quota = QuotaOut.model_validate(await quota_service.usage(user, settings))
    return ok(out)


@router.put("/profile", response_model=ApiResponse[UserOut], responses=error_responses(400, 401, 409, 422))
async def update_profile(data: UserUpdate, user: CurrentUser, session: SessionDep) -> dict[str, object]:
    """Update email and full name; changing the password needs `current_password` and ends every
    session of the account, this one included (log in again with the new password)."""
    updated = await user_service.update_profile(session, user, data)
    if data.new_password is not None:
        return ok(UserOut.model_validate(updated), "Profile updated; the password changed, so every session has ended")
    return ok(UserOut.model_validate(updated), "Profile updated")


@router.get("/{user_id}", response_model=ApiResponse[UserOut], responses=error_responses(401, 404, 422))
async def get_user(user_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> dict[str, object]:
    found = await user_service.get_visible_user(session, user, user_id)
    return ok(UserOut.model_validate(found))
