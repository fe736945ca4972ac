"""The rate limits as FastAPI dependencies: login, register and upload (the limiter is core/ratelimit.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from fastapi_app.api.deps import ActiveAccount
from fastapi_app.core.config import get_settings
from fastapi_app.core.ratelimit import Limiter, peer_address


async def get_limiter(request: Request) -> Limiter:
    # async: FastAPI runs a plain-function dependency in the thread pool, a hop on every upload and login.
    limiter: Limiter | None = getattr(request.app.state, "limiter", None)
    if limiter is None:
        limiter = request.app.state.limiter = Limiter(get_settings())
    return limiter


LimiterDep = Annotated[Limiter, Depends(get_limiter)]


async def limit_login(
    request: Request, limiter: LimiterDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> None:
    # One address must not try many accounts (login), nor guess one account's password (login-account-ip);
    # many addresses must not try one account (login-account, a higher ceiling: a limit of the account
    # alone as low as the per-address one would let anyone lock its owner out by failing on purpose).
    # In this order, an address stopped by its own limits no longer spends the account's ceiling.
    # The same form dependency as the endpoint's, so FastAPI parses the body once.
    address = peer_address(request.scope)
    account = form.username.strip().lower()
    await limiter.hit("login", address)
    await limiter.hit("login-account-ip", f"{account}\x00{address}")
    await limiter.hit("login-account", account)


async def limit_register(request: Request, limiter: LimiterDep) -> None:
    await limiter.hit("register", peer_address(request.scope))


async def limit_upload(request: Request, limiter: LimiterDep, account: ActiveAccount) -> None:
    await limiter.hit("upload", str(account.subject))
    await limiter.hit("upload-ip", peer_address(request.scope))
