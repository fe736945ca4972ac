"""The account and ownership rule is written once (fastapi_app/models/access.py), in SQL and in Python,
and the two agree; the routers ask it through services, and run no queries, storage or rendering of
their own."""

from __future__ import annotations

import ast
import itertools
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select

from fastapi_app.db.base import Base
from fastapi_app.models import Document, User
from fastapi_app.models.access import (
    AccountRefusal,
    accepts_token,
    account_refusal,
    documents_with_owner,
    owned_by_account,
)
from fastapi_app.services.access_service import refusal_error

API = Path(__file__).resolve().parents[2] / "fastapi_app" / "api"


@pytest.fixture
def database():  # type: ignore[no-untyped-def]
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[User.__table__, Document.__table__])
    yield engine
    engine.dispose()


def _add_user(connection, *, active: bool, version: int) -> uuid.UUID:  # type: ignore[no-untyped-def]
    user_id = uuid.uuid4()
    connection.execute(
        insert(User.__table__).values(
            id=user_id, username=user_id.hex[:20], email=f"{user_id.hex}@example.com", hashed_password="x",
            is_active=active, is_superuser=False, token_version=version,
        )
    )  # fmt: skip
    return user_id


def _add_document(connection, owner_id: uuid.UUID) -> uuid.UUID:  # type: ignore[no-untyped-def]
    document_id = uuid.uuid4()
    connection.execute(
        insert(Document.__table__).values(
            id=document_id, owner_id=owner_id, original_filename="a.pdf", stored_name=document_id.hex,
            file_type="pdf", mime_type="application/pdf", size_bytes=1, sha256="0" * 64, status="pending",
            stage="queued", progress=0, upload_warnings=[], current_run=1, attempts=0,
        )
    )  # fmt: skip
    return document_id


def test_the_sql_and_the_python_rule_agree_on_every_account(database) -> None:  # type: ignore[no-untyped-def]
    users = User.__table__
    with database.begin() as connection:
        accounts = {(active, version): _add_user(connection, active=active, version=version)
                    for active, version in itertools.product((True, False), (0, 3))}  # fmt: skip
        for (active, stored_version), user_id in [*accounts.items(), ((None, None), uuid.uuid4())]:
            row = connection.execute(
                select(users.c.is_active, users.c.token_version).where(users.c.id == user_id)
            ).first()
            for token_version in (0, 3):
                accepted_by_sql = connection.execute(
                    select(users.c.id).where(users.c.id == user_id, accepts_token(token_version))
                ).first()
                refusal = account_refusal(row, token_version)
                assert (accepted_by_sql is not None) == (refusal is None), (active, stored_version, token_version)
                if row is None:
                    assert refusal is AccountRefusal.DELETED
                elif not active:
                    assert refusal is AccountRefusal.DISABLED
                elif stored_version != token_version:
                    assert refusal is AccountRefusal.SESSION_ENDED


def test_a_document_is_found_only_for_its_owner_while_the_account_accepts_the_token(database) -> None:  # type: ignore[no-untyped-def]
    documents = Document.__table__
    with database.begin() as connection:
        owner = _add_user(connection, active=True, version=2)
        stranger = _add_user(connection, active=True, version=0)
        document_id = _add_document(connection, owner)

        def found(owner_id: uuid.UUID, token_version: int) -> bool:
            query = (
                select(documents.c.id)
                .select_from(documents_with_owner())
                .where(owned_by_account(owner_id, token_version), documents.c.id == document_id)
            )
            return connection.execute(query).first() is not None

        assert found(owner, 2)
        assert not found(owner, 1)  # a token from before the account's sessions ended
        assert not found(stranger, 0)
        connection.execute(User.__table__.update().where(User.__table__.c.id == owner).values(is_active=False))
        assert not found(owner, 2)


def test_each_refusal_has_its_public_error() -> None:
    answers = {refusal: (type(error).__name__, error.status_code, error.error_code)
               for refusal in AccountRefusal for error in [refusal_error(refusal)]}  # fmt: skip
    assert answers == {
        AccountRefusal.DELETED: ("InvalidToken", 401, "INVALID_TOKEN"),
        AccountRefusal.DISABLED: ("InactiveUser", 403, "INACTIVE_USER"),
        AccountRefusal.SESSION_ENDED: ("TokenRevoked", 401, "TOKEN_REVOKED"),
    }
    # The WebSocket's close reasons, which clients see.
    assert [str(refusal) for refusal in AccountRefusal] == ["account deleted", "account disabled", "session ended"]


def _imports(path: Path) -> set[str]:
    """Every module and every `module.name` a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_routers_run_no_queries_storage_or_rendering_of_their_own() -> None:
    forbidden = {
        "sqlalchemy": "a query",
        "sqlalchemy.select": "a query",
        "fastapi_app.db.session.async_session_factory": "a session of its own",
        "fastapi_app.reports.renderers.registry.render": "rendering",
        ".StoredFileMissing": "storage branching",  # wherever the storage module lives
        ".get_storage": "storage of its own",
        ".get_async_engine": "a database connection of its own",
    }
    offences = sorted(
        f"{path.name} imports {name} ({why})"
        for path in API.glob("*.py")
        for name in _imports(path)
        for banned, why in forbidden.items()
        if name == banned or (banned.startswith(".") and name.endswith(banned))
    )
    assert offences == [], offences
