from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from fastapi_app.api.deps import CurrentUser, SessionDep
from fastapi_app.api.ratelimit import limit_login, limit_register
from fastapi_app.schemas.common import ApiResponse, error_responses, ok
from fastapi_app.schemas.user import RefreshRequest, TokenResponse, UserCreate, UserOut
from fastapi_app.services import auth_service

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiResponse[UserOut],
    responses=error_responses(409, 422, 429),
    dependencies=[Depends(limit_register)],
)
async def register(data: UserCreate, session: SessionDep) -> dict[str, object]:
    """Create an account. A taken username is 409 `USERNAME_TAKEN`; an email that already has an account
    gets the same 201 as a new one (nothing is created), so registration does not reveal who has one."""
    user = await auth_service.register(session, data)
    return ok(UserOut.model_validate(user), "User registered")


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=error_responses(401, 403, 422, 429),
    dependencies=[Depends(limit_login)],
)
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep) -> TokenResponse:
    """OAuth2 password flow: form fields `username` (or the email) and `password`."""
    user = await auth_service.authenticate(session, form.username, form.password)
    return await auth_service.issue_tokens(session, user)


@router.post("/refresh", response_model=TokenResponse, responses=error_responses(401, 403, 422))
async def refresh(data: RefreshRequest, session: SessionDep) -> TokenResponse:
    """Exchange a refresh token for a new pair. Each refresh token works once (rotation)."""
    return await auth_service.rotate_refresh_token(session, data.refresh_token)


@router.post("/logout", response_model=ApiResponse[None], responses=error_responses(401, 422))
async def logout(data: RefreshRequest, session: SessionDep) -> dict[str, object]:
    """End this session: the refresh token and every token refreshed from the same login stop working.
    The session's access token stays valid until it expires; `logout-all` ends those too."""
    await auth_service.logout(session, data.refresh_token)
    return ok(None, "Logged out")


@router.post("/logout-all", response_model=ApiResponse[None], responses=error_responses(401, 403))
async def logout_all(user: CurrentUser, session: SessionDep) -> dict[str, object]:
    """End every session of the account: all refresh tokens, all access tokens issued so far (this one
    included) and open WebSockets."""
    await auth_service.logout_all(session, user)
    return ok(None, "Logged out of every session")
