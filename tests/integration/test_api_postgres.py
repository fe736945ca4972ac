"""The API in-process on real PostgreSQL and Redis: token rotation, enqueue-after-commit."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis

from tests.support.documents import small_text_pdf

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(postgres_app_env: str) -> AsyncIterator[httpx.AsyncClient]:
    from fastapi_app.main import create_app

    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _login(api: httpx.AsyncClient, username: str) -> dict:  # type: ignore[type-arg]
    r = await api.post(
        "/api/auth/register", json={"username": username, "email": f"{username}@example.com", "password": "pw-12345678"}
    )
    assert r.status_code == 201, r.text
    r = await api.post("/api/auth/login", data={"username": username, "password": "pw-12345678"})
    assert r.status_code == 200
    return r.json()


async def test_refresh_rotates_and_detects_reuse(api: httpx.AsyncClient) -> None:
    tokens = await _login(api, "rotator")
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600

    rotated = await api.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    me = await api.get("/api/users/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.json()["data"]["username"] == "rotator"

    # The old refresh token was used once: presenting it again is theft, and kills the family.
    reused = await api.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["error_code"] == "INVALID_TOKEN"
    after_theft = await api.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert after_theft.status_code == 401

    # An access token is not a refresh token.
    wrong_kind = await api.post("/api/auth/refresh", json={"refresh_token": new["access_token"]})
    assert wrong_kind.status_code == 401


async def test_duplicate_registration_and_profile_rules(api: httpx.AsyncClient) -> None:
    tokens = await _login(api, "profiled")
    again = await api.post(
        "/api/auth/register", json={"username": "profiled", "email": "other@example.com", "password": "pw-12345678"}
    )
    assert again.status_code == 409 and again.json()["error_code"] == "USERNAME_TAKEN"
    # A registered email is not revealed (issue 12, 8a: this was 409 EMAIL_TAKEN): the same 201 as a new
    # one, and nothing is created. tests/integration/test_registration.py covers it in full.
    again = await api.post(
        "/api/auth/register", json={"username": "other", "email": "PROFILED@example.com", "password": "pw-12345678"}
    )
    assert again.status_code == 201 and again.json()["data"]["username"] == "other"
    assert (await api.post("/api/auth/login", data={"username": "other", "password": "pw-12345678"})).status_code == 401

    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = await api.put("/api/users/profile", json={"full_name": "김철수", "email": "kim@example.com"}, headers=auth)
    assert r.status_code == 200 and r.json()["data"]["full_name"] == "김철수"
    r = await api.put("/api/users/profile", json={"new_password": "new-password-1"}, headers=auth)
    assert r.status_code == 422 and r.json()["error_code"] == "VALIDATION_ERROR"
    r = await api.put(
        "/api/users/profile", json={"new_password": "new-password-1", "current_password": "wrong"}, headers=auth
    )
    assert r.status_code == 400 and r.json()["error_code"] == "INCORRECT_PASSWORD"
    r = await api.put(
        "/api/users/profile", json={"new_password": "new-password-1", "current_password": "pw-12345678"}, headers=auth
    )
    assert r.status_code == 200 and r.json()["data"]["username"] == "profiled"
    assert r.json()["message"] == "Profile updated; the password changed, so every session has ended"
    login = await api.post("/api/auth/login", data={"username": "profiled", "password": "new-password-1"})
    assert login.status_code == 200
    # Login also accepts the email.
    login = await api.post("/api/auth/login", data={"username": "kim@example.com", "password": "new-password-1"})
    assert login.status_code == 200


async def test_upload_enqueues_one_task_after_commit(api: httpx.AsyncClient, inprocess_redis_url: str) -> None:
    from fastapi_app.core.config import get_settings

    queue = get_settings().CELERY_QUEUE
    client = redis.Redis.from_url(inprocess_redis_url)
    client.delete(queue)
    tokens = await _login(api, "enqueuer")
    r = await api.post(
        "/api/documents/upload",
        files={"file": ("a.pdf", small_text_pdf())},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert r.status_code == 202
    document_id = r.json()["data"]["id"]
    messages = [json.loads(m) for m in client.lrange(queue, 0, -1)]
    assert len(messages) == 1
    headers = messages[0]["headers"]
    assert headers["task"] == "documents.process"
    assert headers["id"] == f"doc-{document_id}-run-1"


def test_after_commit_callbacks_run_only_on_commit(postgres_app_env: str) -> None:
    from sqlalchemy import text

    from fastapi_app.db.hooks import on_commit
    from fastapi_app.db.session import sync_session_factory

    calls: list[str] = []
    with sync_session_factory()() as session:
        session.execute(text("SELECT 1"))
        on_commit(session, lambda: calls.append("rolled back"))
        session.rollback()
        session.execute(text("SELECT 1"))
        on_commit(session, lambda: calls.append("committed"))
        session.commit()
    assert calls == ["committed"]


async def test_after_commit_callbacks_of_a_direct_transaction(postgres_app_env: str) -> None:
    """The same mechanism for the Core transactions on the raw pool (the upload's): run once committed,
    dropped when the transaction rolls back."""
    from sqlalchemy import text

    from fastapi_app.db import direct
    from fastapi_app.db.hooks import on_commit

    calls: list[str] = []

    async def commits(statements: direct.Statements) -> None:
        await statements.fetch("after-commit-probe", lambda: text("SELECT 1"), {})
        on_commit(statements, lambda: calls.append("committed"))
        assert calls == []  # not before the commit

    async def rolls_back(statements: direct.Statements) -> None:
        await statements.fetch("after-commit-probe", lambda: text("SELECT 1"), {})
        on_commit(statements, lambda: calls.append("rolled back"))
        raise RuntimeError("roll back")

    await direct.transaction(commits)
    with pytest.raises(RuntimeError):
        await direct.transaction(rolls_back)
    assert calls == ["committed"]


async def test_readiness_names_the_parts(api: httpx.AsyncClient) -> None:
    r = await api.get("/health/ready")
    assert r.status_code == 200
    checks = r.json()["data"]["checks"]
    assert {name for name, check in checks.items() if check["ok"]} == {"database", "broker", "storage"}
    assert r.json()["data"]["broker"] == "redis"


async def test_superuser_created_by_command_sees_other_users(api: httpx.AsyncClient) -> None:
    from init_db import create_superuser

    regular = await _login(api, "regular_user")
    regular_me = (await api.get("/api/users/me", headers={"Authorization": f"Bearer {regular['access_token']}"})).json()
    assert create_superuser("chief", "chief@example.com", "chief-password-1") == "created"
    assert create_superuser("chief", "chief@example.com", "chief-password-2") == "updated"
    chief = (await api.post("/api/auth/login", data={"username": "chief", "password": "chief-password-2"})).json()
    chief_headers = {"Authorization": f"Bearer {chief['access_token']}"}
    seen = await api.get(f"/api/users/{regular_me['data']['id']}", headers=chief_headers)
    assert seen.status_code == 200 and seen.json()["data"]["username"] == "regular_user"
    chief_id = (await api.get("/api/users/me", headers=chief_headers)).json()["data"]["id"]
    hidden = await api.get(f"/api/users/{chief_id}", headers={"Authorization": f"Bearer {regular['access_token']}"})
    assert hidden.status_code == 404 and hidden.json()["error_code"] == "USER_NOT_FOUND"


async def test_hot_reads_on_the_asyncpg_pool(api: httpx.AsyncClient, postgres_app_env: str) -> None:
    """The document and the list page come from raw asyncpg (fastapi_app/db/direct.py) and orjson: the
    same documents, filters, totals and JSON bytes the schema defines, and the same account checks."""
    from sqlalchemy import text

    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.schemas.common import ApiResponse, PagedResponse
    from fastapi_app.schemas.document import DocumentOut

    tokens = await _login(api, "hotreader")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    names = ["견적서_100%.pdf", "plain_a.pdf", "plainXa.pdf"]
    ids = []
    for name in names:
        r = await api.post("/api/documents/upload", files={"file": (name, small_text_pdf())}, headers=auth)
        assert r.status_code == 202, r.text
        ids.append(r.json()["data"]["id"])

    one = await api.get(f"/api/documents/{ids[1]}", headers=auth)
    assert one.status_code == 200
    # Byte for byte what pydantic writes for the response model: a round trip changes nothing.
    assert ApiResponse[DocumentOut].model_validate_json(one.content).model_dump_json().encode() == one.content
    doc = one.json()["data"]
    assert doc["original_filename"] == "plain_a.pdf" and doc["status"] == "pending"
    # The same content uploaded again: flagged, and the warning is in the hot read too.
    assert doc["duplicate_of_id"] == ids[0]
    assert [w["code"] for w in doc["upload_warnings"]] == ["DUPLICATE_UPLOAD"]
    assert doc["created_at"].endswith("Z")
    assert "encrypted_password" not in doc and "stored_name" not in doc

    page = await api.get("/api/documents/", params={"page_size": 2, "sort": "original_filename"}, headers=auth)
    assert PagedResponse[DocumentOut].model_validate_json(page.content).model_dump_json().encode() == page.content
    body = page.json()
    assert (body["total"], body["total_pages"], body["page"]) == (3, 2, 1)
    assert [d["original_filename"] for d in body["data"]] == sorted(names)[:2]
    # A page past the end is empty but still knows the total (the count query's path).
    past = (await api.get("/api/documents/", params={"page": 5, "page_size": 2}, headers=auth)).json()
    assert (past["data"], past["total"], past["total_pages"]) == ([], 3, 2)
    # LIKE wildcards in a search are literal characters.
    found = (await api.get("/api/documents/", params={"search": "_a"}, headers=auth)).json()
    assert [d["original_filename"] for d in found["data"]] == ["plain_a.pdf"]
    found = (await api.get("/api/documents/", params={"search": "100%"}, headers=auth)).json()
    assert [d["original_filename"] for d in found["data"]] == ["견적서_100%.pdf"]
    # A naive date is UTC; a future bound finds nothing, a past one everything.
    later = (await api.get("/api/documents/", params={"date_from": "2999-01-01T00:00:00"}, headers=auth)).json()
    assert later["total"] == 0
    earlier = (await api.get("/api/documents/", params={"date_from": "2000-01-01T00:00:00"}, headers=auth)).json()
    assert earlier["total"] == 3
    # An id nobody owns (a new random one: changing a digit of an existing id could give back that id).
    missing = str(uuid.uuid4())
    assert (await api.get(f"/api/documents/{missing}", headers=auth)).json()["error_code"] == "DOCUMENT_NOT_FOUND"

    with sync_session_factory()() as session:
        session.execute(text("UPDATE users SET is_active = false WHERE username = 'hotreader'"))
        session.commit()
    disabled_one = await api.get(f"/api/documents/{ids[1]}", headers=auth)
    disabled_list = await api.get("/api/documents/", headers=auth)
    assert disabled_one.status_code == disabled_list.status_code == 403
    with sync_session_factory()() as session:
        session.execute(text("DELETE FROM users WHERE username = 'hotreader'"))
        session.commit()
    gone = await api.get(f"/api/documents/{ids[1]}", headers=auth)
    assert gone.status_code == 401 and gone.json()["error_code"] == "INVALID_TOKEN"


async def test_concurrent_first_reads_share_one_pool(api: httpx.AsyncClient, postgres_app_env: str) -> None:
    import asyncio

    from fastapi_app.db import direct

    tokens = await _login(api, "firstreader")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    await direct.close_backend()
    direct._backend = None  # as after start-up: no pool yet
    answers = await asyncio.gather(*(api.get("/api/documents/", headers=auth) for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    backend = direct.get_backend()
    assert isinstance(backend, direct._AsyncpgBackend) and len(backend._pools) == 1


async def test_upload_writes_one_document_and_one_event(api: httpx.AsyncClient, postgres_app_env: str) -> None:
    """The upload's write runs as Core statements on the raw pool (fastapi_app/db/direct.py): the row the
    worker reads, the first event the timeline and the WebSocket replay from, and the same JSON as a read."""
    from sqlalchemy import text

    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.schemas.common import ApiResponse
    from fastapi_app.schemas.document import DocumentOut

    tokens = await _login(api, "writer")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = await api.post(
        "/api/documents/upload",
        files={"file": ("보고서.pdf", small_text_pdf())},
        data={"password": "s3cret-pw"},
        headers=auth,
    )
    assert r.status_code == 202, r.text
    assert r.json()["message"] == "File uploaded; processing has started"
    assert ApiResponse[DocumentOut].model_validate_json(r.content).model_dump_json().encode() == r.content
    uploaded = r.json()["data"]
    read = (await api.get(f"/api/documents/{uploaded['id']}", headers=auth)).json()["data"]
    assert read == uploaded  # what the upload answered is what is stored
    assert (uploaded["status"], uploaded["stage"], uploaded["progress"]) == ("pending", "queued", 0)
    assert uploaded["original_filename"] == "보고서.pdf" and uploaded["upload_warnings"] == []
    with sync_session_factory()() as session:
        row = session.execute(
            text("SELECT current_run, attempts, encrypted_password, queued_at FROM documents WHERE id = :id"),
            {"id": uploaded["id"]},
        ).one()
        events = session.execute(
            text("SELECT type, status, stage, run, details FROM document_events WHERE document_id = :id"),
            {"id": uploaded["id"]},
        ).all()
    assert (row.current_run, row.attempts) == (1, 0) and row.queued_at is not None
    assert row.encrypted_password and "s3cret-pw" not in row.encrypted_password  # stored encrypted
    assert [tuple(e) for e in events] == [("document_processing", "pending", "queued", 1, {})]


async def test_writes_after_the_pools_connections_died(api: httpx.AsyncClient, postgres_app_env: str) -> None:
    """PostgreSQL restarted, as far as the pooled connections can tell: their backends are gone. A
    transaction that fails on a dead connection before COMMIT is retried once on a new one; an upload
    then goes through as usual."""
    import uuid

    from sqlalchemy import text

    from fastapi_app.db import direct
    from fastapi_app.db.session import sync_session_factory

    def kill_other_backends() -> int:
        with sync_session_factory()() as session:
            return int(
                session.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )

    tokens = await _login(api, "survivor")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await api.get("/api/documents/", headers=auth)).status_code == 200  # the pool holds connections
    assert kill_other_backends() >= 1

    async def look_up(statements: direct.Statements) -> list[object]:
        return list(await statements.fetch("test-find", _find_document, {"id": uuid.uuid4()}))

    assert await direct.transaction(look_up) == []  # the first statement met a dead connection: retried

    kill_other_backends()
    r = await api.post("/api/documents/upload", files={"file": ("after.pdf", small_text_pdf())}, headers=auth)
    assert r.status_code == 202, r.text
    document_id = r.json()["data"]["id"]
    with sync_session_factory()() as session:
        counts = session.execute(
            text(
                "SELECT (SELECT count(*) FROM documents WHERE id = :id), "
                "(SELECT count(*) FROM document_events WHERE document_id = :id)"
            ),
            {"id": document_id},
        ).one()
    assert tuple(counts) == (1, 1)


async def test_a_failed_transaction_writes_nothing(api: httpx.AsyncClient, postgres_app_env: str) -> None:
    """direct.transaction commits only when its work returns: an error after a statement ran rolls it back,
    and the pooled connection comes back clean for the next request."""
    import uuid

    from fastapi_app.db import direct
    from fastapi_app.services.document_service import _DOCUMENTS, _INSERT_DOCUMENT

    tokens = await _login(api, "rollback")
    me = (await api.get("/api/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})).json()
    values = direct.insert_values(
        _DOCUMENTS,
        {"owner_id": uuid.UUID(me["data"]["id"]), "original_filename": "x.pdf", "stored_name": uuid.uuid4().hex,
         "file_type": "pdf", "mime_type": "application/pdf", "size_bytes": 1, "sha256": "0" * 64},
    )  # fmt: skip

    async def insert_then_fail(statements: direct.Statements) -> None:
        await statements.fetch("test-insert-document", _INSERT_DOCUMENT, values)
        raise RuntimeError("after the INSERT")

    with pytest.raises(RuntimeError):
        await direct.transaction(insert_then_fail)
    found = await direct.fetch("test-find", _find_document, {"id": values["id"]})
    assert found == []


def _find_document() -> Any:
    from sqlalchemy import bindparam, select

    from fastapi_app.services.document_service import _DOCUMENTS

    return select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.id == bindparam("id"))
