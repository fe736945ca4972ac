"""Authentication: the OAuth2 token endpoints for API clients, and the cookie session of the web app.

The web session (`/api/v1/auth/session*`) keeps the access token in the page's memory only and the refresh
token in an httpOnly, SameSite=Strict cookie scoped to `/api/v1/auth/session`: script on the page (an XSS)
can never read the long-lived credential, and the short-lived one disappears with the tab. The refresh
and logout calls that the cookie authorizes also need the `X-CSRF-Token` header to equal the readable
`docproc_csrf` cookie (double submit): another site can make the browser send cookies, but cannot read
ours to copy into a header. Rotation and revocation are exactly those of `/api/v1/auth/refresh` and
`/api/v1/auth/logout` (docs/WEB_SESSION.md).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError

from fastapi_app.api.deps import CurrentUser, SessionDep, SettingsDep
from fastapi_app.api.ratelimit import LimiterDep, limit_login, limit_register
from fastapi_app.core.config import Settings
from fastapi_app.core.errors import CsrfFailed, NotAuthenticated
from fastapi_app.schemas.common import ApiResponse, error_responses, ok
from fastapi_app.schemas.user import (
    RefreshRequest,
    SessionLogin,
    SessionOut,
    TokenResponse,
    UserCreate,
    UserOut,
)
from fastapi_app.services import auth_service

router = APIRouter(prefix="/auth", tags=["auth"])


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


# --- the web app's cookie session ------------------------------------------------------------------

REFRESH_COOKIE = "docproc_refresh"
CSRF_COOKIE = "docproc_csrf"
CSRF_HEADER = "X-CSRF-Token"
# The refresh cookie goes only to the session endpoints (refresh, logout), never to the rest of the API:
# its Path is the session endpoints' prefix under the version the client spoke (/api/v1 or the deprecated
# /api alias), so a session begun on one prefix is refreshed on the same one.
SESSION_PATH = "/auth/session"


def _refresh_cookie_path(request: Request) -> str:
    path = request.url.path
    return path[: path.index(SESSION_PATH) + len(SESSION_PATH)]


_SESSION_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            # Inline: a $ref would point at nothing, as no route takes SessionLogin as its body parameter.
            media_type: {"schema": SessionLogin.model_json_schema()}
            for media_type in ("application/x-www-form-urlencoded", "application/json")
        },
    }
}


async def _session_login(request: Request) -> SessionLogin:
    """The credentials, from a JSON body or a form (the same fields either way)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    data: Any
    try:
        if content_type == "application/json" or content_type.endswith("+json"):
            data = json.loads(await request.body() or b"null")
        else:
            data = dict(await request.form())
        return SessionLogin.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        raise RequestValidationError(
            [{"loc": ("body",), "msg": f"Invalid JSON: {type(exc).__name__}", "type": "json_invalid"}]
        ) from None


SessionCredentials = Annotated[SessionLogin, Depends(_session_login)]


async def _limit_session_login(request: Request, limiter: LimiterDep, credentials: SessionCredentials) -> None:
    # The very limits of /api/auth/login (per address, per account and address, per account).
    await limit_login(request, limiter, OAuth2PasswordRequestForm(username=credentials.username, password=""))


def _secure(request: Request, settings: Settings) -> bool:
    if settings.SESSION_COOKIE_SECURE == "auto":
        # The scheme as RequestLifecycleMiddleware set it (X-Forwarded-Proto from a trusted proxy).
        return request.url.scheme == "https"
    return settings.SESSION_COOKIE_SECURE == "true"


def _set_session_cookies(response: Response, request: Request, settings: Settings, refresh_token: str) -> None:
    secure = _secure(request, settings)
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=settings.REFRESH_TOKEN_EXPIRE_DAYS * 86400,
        path=_refresh_cookie_path(request),
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        max_age=settings.REFRESH_TOKEN_EXPIRE_DAYS * 86400,
        path="/",
        secure=secure,
        httponly=False,  # the page reads it to echo it in the X-CSRF-Token header
        samesite="strict",
    )


def _clear_session_cookies(response: Response, request: Request, settings: Settings) -> None:
    secure = _secure(request, settings)
    response.delete_cookie(
        REFRESH_COOKIE, path=_refresh_cookie_path(request), secure=secure, httponly=True, samesite="strict"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="strict")


async def _check_csrf(request: Request) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not hmac.compare_digest(cookie.encode(), header.encode()):
        raise CsrfFailed()


def _session_out(tokens: TokenResponse, user: Any) -> dict[str, Any]:
    return ok(
        SessionOut(
            access_token=tokens.access_token,
            token_type=tokens.token_type,
            expires_in=tokens.expires_in,
            user=UserOut.model_validate(user),
        )
    )


@router.post(
    "/session",
    response_model=ApiResponse[SessionOut],
    responses=error_responses(401, 403, 422, 429),
    dependencies=[Depends(_limit_session_login)],
    openapi_extra=_SESSION_LOGIN_BODY,
)
async def session_login(
    credentials: SessionCredentials, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """The web app's login (form or JSON `{username, password}`): the access token in the body, the refresh
    token in the httpOnly cookie `docproc_refresh`, and a `docproc_csrf` cookie to echo in `X-CSRF-Token`."""
    user = await auth_service.authenticate(session, credentials.username, credentials.password)
    tokens = await auth_service.issue_tokens(session, user)
    _set_session_cookies(response, request, settings, tokens.refresh_token)
    return _session_out(tokens, user)


@router.post(
    "/session/refresh",
    response_model=ApiResponse[SessionOut],
    responses=error_responses(401, 403),
    dependencies=[Depends(_check_csrf)],
)
async def session_refresh(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """A new access token from the refresh cookie, which is rotated like `/api/auth/refresh` does (each
    works once; a reused one ends the session). Needs `X-CSRF-Token` = the `docproc_csrf` cookie."""
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise NotAuthenticated("No session: log in.")
    tokens, user = await auth_service.rotate_session(session, token)
    _set_session_cookies(response, request, settings, tokens.refresh_token)
    return _session_out(tokens, user)


@router.post(
    "/session/logout",
    response_model=ApiResponse[None],
    responses=error_responses(403),
    dependencies=[Depends(_check_csrf)],
)
async def session_logout(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """End the web session (the cookie's refresh-token family) and clear both cookies. Needs `X-CSRF-Token`."""
    token = request.cookies.get(REFRESH_COOKIE)
    if token:
        # Expired, unknown or forged: there is no session to end, and the cookies go all the same.
        with contextlib.suppress(NotAuthenticated):
            await auth_service.logout(session, token)
    _clear_session_cookies(response, request, settings)
    return ok(None, "Logged out")
