"""Upload quotas on the real stack (two uvicorn processes, a Celery worker, PostgreSQL, Redis), with
QUOTA_DOCUMENTS_PER_DAY=3 as every account's default: the refusals and what they leave behind (nothing),
an admin's per-account overrides, the numbers GET /api/users/me shows, deletion freeing storage, and
parallel uploads through both API processes at the edge of a quota."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_admin_api import _superuser
from tests.support.client import ApiClient
from tests.support.services import create_postgres_database, drop_postgres_database
from tests.support.stack import Stack, stack_env

pytestmark = pytest.mark.e2e

DAILY = 3


@pytest.fixture(scope="module")
def quota_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack-quotas")
    database_url = create_postgres_database()
    stack = Stack(
        env=stack_env(
            workdir,
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=redis_url,
            REDIS_URL=redis_url,
            QUOTA_DOCUMENTS_PER_DAY=DAILY,
            QUOTA_STORAGE_BYTES=0,
        ),
        workdir=workdir,
    )
    try:
        with stack.serving(api_instances=2):
            yield stack
    finally:
        drop_postgres_database(database_url)


@pytest.fixture(scope="module")
def admin(quota_stack: Stack) -> ApiClient:
    return _superuser(quota_stack)


@pytest.fixture
def user(quota_stack: Stack) -> ApiClient:
    api = ApiClient(quota_stack.base_url)
    api.register_and_login()
    return api


def _csv(tag: str, size: int = 64) -> bytes:
    return f"name,tag\nquota,{tag}\n".encode().ljust(size, b"1")


def _upload(api: ApiClient, tag: str, size: int = 64, base_url: str | None = None) -> httpx.Response:
    files = {"file": (f"{tag}.csv", _csv(tag, size), "text/csv")}
    if base_url is None:
        return api.post("/api/documents/upload", files=files)
    with httpx.Client(base_url=base_url, timeout=60) as http:
        return http.post("/api/documents/upload", files=files, headers=api.headers)


def _quota(api: ApiClient) -> dict[str, Any]:
    me = api.get("/api/users/me")
    assert me.status_code == 200, me.text
    return me.json()["data"]["quota"]  # type: ignore[no-any-return]


def _listed(api: ApiClient) -> dict[str, Any]:
    r = api.get("/api/documents/", params={"page_size": 100})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _stored(stack: Stack) -> set[Path]:
    return {path for path in (stack.workdir / "media").rglob("*") if path.is_file()}


def _patch(admin: ApiClient, user: ApiClient, **changes: int | None) -> dict[str, Any]:
    user_id = user.get("/api/users/me").json()["data"]["id"]
    r = admin.request("PATCH", f"/api/admin/users/{user_id}", json=changes)
    assert r.status_code == 200, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


def test_the_fourth_upload_of_the_day_is_refused(quota_stack: Stack, user: ApiClient) -> None:
    for index in range(DAILY):
        assert _upload(user, f"daily-{index}").status_code == 202
    assert _quota(user)["documents_today"] == {"used": DAILY, "limit": DAILY}
    stored = _stored(quota_stack)
    r = _upload(user, "daily-extra")
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["error_code"] == "DAILY_DOCUMENT_QUOTA_EXCEEDED"
    assert body["details"]["limit"] == DAILY and body["details"]["used"] == DAILY
    # The stack's day is UTC: the retry waits for the next UTC midnight, at most a day away.
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= 86_400 and body["details"]["retry_after"] == retry_after
    listed = _listed(user)
    assert listed["total"] == DAILY
    assert "daily-extra.csv" not in {d["original_filename"] for d in listed["data"]}
    assert _stored(quota_stack) == stored  # no original kept, no temp file left
    # Only an admin sets quotas: the profile update ignores them.
    user.request("PUT", "/api/users/profile", json={"quota_documents_per_day": 1000, "full_name": "Q"})
    assert _quota(user)["documents_today"] == {"used": DAILY, "limit": DAILY}


def test_a_file_past_the_storage_quota_is_refused_and_nothing_is_stored(
    quota_stack: Stack, admin: ApiClient, user: ApiClient
) -> None:
    _patch(admin, user, quota_storage_bytes=1000)
    assert _upload(user, "store-0", size=600).status_code == 202
    stored = _stored(quota_stack)
    r = _upload(user, "store-1", size=401)
    assert r.status_code == 413, r.text
    assert r.json()["error_code"] == "STORAGE_QUOTA_EXCEEDED"
    assert r.json()["details"] == {"limit": 1000, "used": 600, "size": 401}
    assert _listed(user)["total"] == 1
    assert _stored(quota_stack) == stored
    assert _quota(user) | {"day_resets_in_seconds": 0} == {
        "documents_today": {"used": 1, "limit": DAILY},  # the refused upload took no place in the day
        "storage_bytes": {"used": 600, "limit": 1000},
        "day_resets_in_seconds": 0,
        "timezone": "UTC",
    }
    # Deleting frees the bytes: the same file fits now.
    document_id = _listed(user)["data"][0]["id"]
    assert user.request("DELETE", f"/api/documents/{document_id}").status_code == 200
    assert _quota(user)["storage_bytes"] == {"used": 0, "limit": 1000}
    assert _upload(user, "store-1", size=401).status_code == 202
    assert _quota(user)["storage_bytes"] == {"used": 401, "limit": 1000}


def test_an_admin_override_raises_and_lowers_a_limit(admin: ApiClient, user: ApiClient) -> None:
    for index in range(DAILY):
        assert _upload(user, f"override-{index}").status_code == 202
    assert _upload(user, "override-refused").status_code == 429
    raised = _patch(admin, user, quota_documents_per_day=5)
    assert raised["quota_documents_per_day"] == 5 and raised["documents_per_day_limit"] == 5
    assert raised["documents_today"] == DAILY
    assert _upload(user, "override-4").status_code == 202
    assert _quota(user)["documents_today"] == {"used": DAILY + 1, "limit": 5}
    lowered = _patch(admin, user, quota_documents_per_day=1)
    assert lowered["documents_per_day_limit"] == 1
    r = _upload(user, "override-lowered")
    assert r.status_code == 429 and r.json()["details"] == {
        "limit": 1,
        "used": DAILY + 1,
        "retry_after": int(r.headers["Retry-After"]),
    }
    # 0 = unlimited for this account; null = back to the default.
    assert _patch(admin, user, quota_documents_per_day=0)["documents_per_day_limit"] is None
    assert _upload(user, "override-unlimited").status_code == 202
    assert _quota(user)["documents_today"] == {"used": DAILY + 2, "limit": None}
    cleared = _patch(admin, user, quota_documents_per_day=None)
    assert cleared["quota_documents_per_day"] is None and cleared["documents_per_day_limit"] == DAILY
    assert _upload(user, "override-default").status_code == 429
    # The admin list shows the overrides and the limits in force.
    username = user.get("/api/users/me").json()["data"]["username"]
    listed = admin.get("/api/admin/users", params={"search": username}).json()["data"][0]
    assert listed["quota_documents_per_day"] is None and listed["documents_per_day_limit"] == DAILY
    assert listed["quota_storage_bytes"] is None and listed["storage_bytes_limit"] is None
    assert listed["documents_today"] == DAILY + 2 and listed["document_count"] == DAILY + 2


def test_superusers_are_unlimited_unless_given_an_override(admin: ApiClient) -> None:
    assert _quota(admin)["documents_today"]["limit"] is None
    for index in range(DAILY + 1):
        assert _upload(admin, f"admin-{index}").status_code == 202


def test_admin_patch_refuses_a_negative_quota(admin: ApiClient, user: ApiClient) -> None:
    user_id = user.get("/api/users/me").json()["data"]["id"]
    r = admin.request("PATCH", f"/api/admin/users/{user_id}", json={"quota_storage_bytes": -1})
    assert r.status_code == 422 and r.json()["error_code"] == "VALIDATION_ERROR"


def test_parallel_uploads_at_the_edge_admit_exactly_the_quota(
    quota_stack: Stack, admin: ApiClient, user: ApiClient
) -> None:
    """Both API processes take uploads of one account at once: only the row lock stops both from
    taking the last place."""
    assert _upload(user, "edge-first").status_code == 202
    urls = [quota_stack.url("uvicorn"), quota_stack.url("uvicorn-b")]
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda i: _upload(user, f"edge-{i}", base_url=urls[i % 2]), range(10)))
    assert sorted(r.status_code for r in responses) == [202] * (DAILY - 1) + [429] * (10 - DAILY + 1)
    assert _listed(user)["total"] == DAILY
    assert _quota(user)["documents_today"] == {"used": DAILY, "limit": DAILY}

    # The storage quota at its edge: room for exactly two more 100-byte files.
    other = ApiClient(quota_stack.base_url)
    other.register_and_login(f"edge_{uuid.uuid4().hex[:8]}")
    _patch(admin, other, quota_storage_bytes=250, quota_documents_per_day=0)
    assert _upload(other, "bytes-first", size=50).status_code == 202
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda i: _upload(other, f"b-{i}", 100, urls[i % 2]), range(10)))
    assert sorted(r.status_code for r in responses) == [202] * 2 + [413] * 8
    assert _quota(other)["storage_bytes"] == {"used": 250, "limit": 250}
    assert _listed(other)["total"] == 3


def test_a_batch_counts_against_the_daily_quota_as_a_whole(quota_stack: Stack, user: ApiClient) -> None:
    """The files of one batch count together: a batch that fits is accepted, one that would go over is
    refused whole with the quota's code, and nothing of it is kept."""

    def batch(*tags: str) -> httpx.Response:
        files = [("files", (f"{tag}.csv", _csv(tag), "text/csv")) for tag in tags]
        return user.post("/api/documents/batch", files=files, timeout=120)

    fits = batch("batch-a", "batch-b")
    assert fits.status_code == 202, fits.text
    assert fits.json()["data"]["accepted"] == 2
    assert _quota(user)["documents_today"] == {"used": 2, "limit": DAILY}
    stored = _stored(quota_stack)

    over = batch("batch-c", "batch-d")
    assert over.status_code == 429, over.text
    assert over.json()["error_code"] == "DAILY_DOCUMENT_QUOTA_EXCEEDED"
    listed = {d["original_filename"] for d in _listed(user)["data"]}
    assert listed == {"batch-a.csv", "batch-b.csv"}
    assert _stored(quota_stack) == stored
    assert _quota(user)["documents_today"] == {"used": 2, "limit": DAILY}
