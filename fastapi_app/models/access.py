"""Who may act with a token, and what they own: the one account rule and the one ownership rule.

A token's account accepts it while the account exists, is active and still has the token's
token_version (ending all sessions raises it). A document belongs to the account that uploaded it.

The rule is written here twice, side by side, because it is asked in two ways: as SQL, joined into a
query so that the hot reads check the account in the same round trip as they read the document; and in
Python, on an account row already loaded, to tell *why* it refuses (each reason gets its own answer:
401 INVALID_TOKEN / TOKEN_REVOKED, 403 INACTIVE_USER, a WebSocket's close reason).
"""

from __future__ import annotations

import enum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, FromClause, and_, bindparam

from fastapi_app.models.document import Document
from fastapi_app.models.user import User

_USERS = User.__table__
_DOCUMENTS = Document.__table__


class AccountRefusal(enum.StrEnum):
    """Why an account refuses a token; the values are the WebSocket close reasons."""

    DELETED = "account deleted"
    DISABLED = "account disabled"
    SESSION_ENDED = "session ended"


class AccountState(Protocol):
    """An account's row as far as the rule needs it (a User, or a selected row)."""

    @property
    def is_active(self) -> bool: ...

    @property
    def token_version(self) -> int: ...


def account_refusal(account: AccountState | None, token_version: int) -> AccountRefusal | None:
    """None when `account` accepts a token of `token_version`; else why not. The same rule as `accepts_token`."""
    if account is None:
        return AccountRefusal.DELETED
    if not account.is_active:
        return AccountRefusal.DISABLED
    if account.token_version != token_version:
        return AccountRefusal.SESSION_ENDED
    return None


def accepts_token(token_version: Any = None) -> ColumnElement[bool]:
    """SQL over `users`: the account accepts a token of `token_version` (a value, or by default the bind
    parameter "token_version"). The same rule as `account_refusal`, for the rows it can see."""
    version = bindparam("token_version") if token_version is None else token_version
    return and_(_USERS.c.is_active.is_(True), _USERS.c.token_version == version)


def owned_by(owner_id: Any = None) -> ColumnElement[bool]:
    """SQL over `documents`: the document belongs to `owner_id` (default: the bind parameter "owner_id").
    For an account already checked; `owned_by_account` checks it in the same query."""
    owner = bindparam("owner_id") if owner_id is None else owner_id
    return _DOCUMENTS.c.owner_id == owner


def documents_with_owner() -> FromClause:
    """`documents` joined to their owner's `users` row: the FROM that `owned_by_account` needs."""
    return _DOCUMENTS.join(_USERS, _USERS.c.id == _DOCUMENTS.c.owner_id)


def owned_by_account(owner_id: Any = None, token_version: Any = None) -> ColumnElement[bool]:
    """SQL over `documents_with_owner()`: the document belongs to `owner_id`, whose account accepts a
    token of `token_version` (defaults: the bind parameters "owner_id" and "token_version"). No row says
    nothing about which condition failed: the caller then checks the account for its 401/403."""
    return and_(_USERS.c.id == _DOCUMENTS.c.owner_id, owned_by(owner_id), accepts_token(token_version))
