"""Upload quotas: the arithmetic (effective limits, the quota day, Retry-After, the refusals), and the
whole upload path in process on SQLite (the dev mode's database): a refused upload leaves nothing
behind, and parallel uploads at the edge of a quota admit exactly what it allows. The PostgreSQL stack
is covered by tests/e2e/test_quotas.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.errors import DailyDocumentQuotaExceeded, StorageQuotaExceeded
from fastapi_app.services import quota_service
from fastapi_app.services.quota_service import Limits, check_upload, effective_limit, seconds_to_next_day

SEOUL = ZoneInfo("Asia/Seoul")
BERLIN = ZoneInfo("Europe/Berlin")


def test_an_override_wins_over_the_default_and_zero_means_unlimited() -> None:
    assert effective_limit(None, 5, is_superuser=False) == 5
    assert effective_limit(None, 0, is_superuser=False) is None
    assert effective_limit(7, 5, is_superuser=False) == 7
    assert effective_limit(0, 5, is_superuser=False) is None
    # Superusers ignore the defaults; an override on their own account still holds.
    assert effective_limit(None, 5, is_superuser=True) is None
    assert effective_limit(3, 5, is_superuser=True) == 3


def test_limits_come_from_the_settings() -> None:
    settings = Settings(QUOTA_DOCUMENTS_PER_DAY=10, QUOTA_STORAGE_BYTES="")
    limits = quota_service.limits_for(settings, is_superuser=False, documents_per_day=None, storage_bytes=None)
    assert limits == Limits(documents_per_day=10, storage_bytes=None)


def test_an_unknown_quota_timezone_stops_the_service() -> None:
    with pytest.raises(ValueError, match="QUOTA_TIMEZONE"):
        Settings(QUOTA_TIMEZONE="Mars/Olympus")


def test_the_quota_day_and_its_end_follow_the_zone() -> None:
    now = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # 05:30 on 2 March in Seoul
    assert quota_service.quota_day(now, ZoneInfo("UTC")) == date(2026, 3, 1)
    assert quota_service.quota_day(now, SEOUL) == date(2026, 3, 2)
    assert seconds_to_next_day(now, ZoneInfo("UTC")) == 3 * 3600 + 30 * 60
    assert seconds_to_next_day(now, SEOUL) == 18 * 3600 + 30 * 60
    # A second before midnight still waits a second, never zero.
    assert seconds_to_next_day(datetime(2026, 3, 1, 23, 59, 59, 500_000, tzinfo=UTC), ZoneInfo("UTC")) == 1
    # In Berlin the clocks go forward on 29 March 2026: that day has 23 hours, not 24.
    assert seconds_to_next_day(datetime(2026, 3, 28, 22, 0, tzinfo=UTC), BERLIN) == 3600  # 23:00 local
    assert seconds_to_next_day(datetime(2026, 3, 28, 23, 0, tzinfo=UTC), BERLIN) == 23 * 3600  # its midnight


def test_the_counter_counts_only_its_own_day() -> None:
    assert quota_service.uploads_on(date(2026, 3, 2), date(2026, 3, 2), 4) == 4
    assert quota_service.uploads_on(date(2026, 3, 2), date(2026, 3, 1), 4) == 0
    assert quota_service.uploads_on(date(2026, 3, 2), None, 0) == 0


def test_the_last_unit_of_each_quota_is_usable_and_the_next_is_refused() -> None:
    limits = Limits(documents_per_day=3, storage_bytes=1000)
    check_upload(limits, uploads_before=2, storage_used=900, size=100, retry_after=60)
    with pytest.raises(DailyDocumentQuotaExceeded) as daily:
        check_upload(limits, uploads_before=3, storage_used=0, size=1, retry_after=60)
    assert daily.value.status_code == 429
    assert daily.value.details == {"limit": 3, "used": 3, "retry_after": 60}
    assert daily.value.headers == {"Retry-After": "60"}
    with pytest.raises(StorageQuotaExceeded) as storage:
        check_upload(limits, uploads_before=0, storage_used=900, size=101, retry_after=60)
    assert storage.value.status_code == 413
    assert storage.value.details == {"limit": 1000, "used": 900, "size": 101}
    check_upload(Limits(None, None), uploads_before=10**9, storage_used=10**18, size=10**9, retry_after=1)


# --- the upload path on SQLite ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_app_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from tests.conftest import migrated_sqlite_database

    with migrated_sqlite_database(tmp_path_factory.mktemp("quotas") / "app.sqlite3") as path:
        yield path


@pytest.fixture
def quotas(monkeypatch: pytest.MonkeyPatch, sqlite_app_env: Path) -> Iterator[None]:
    monkeypatch.setenv("QUOTA_DOCUMENTS_PER_DAY", "3")
    monkeypatch.setenv("QUOTA_STORAGE_BYTES", "1000")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
async def api(quotas: None) -> AsyncIterator[httpx.AsyncClient]:
    from tests.conftest import signed_in_app_client

    async with signed_in_app_client() as client:
        yield client


def _stored_files() -> set[str]:
    return {path.name for path in get_settings().UPLOAD_DIR.rglob("*") if path.is_file()}


async def _upload(api: httpx.AsyncClient, size: int, tag: str) -> httpx.Response:
    content = f"n,{tag}\n".encode().ljust(size, b"1")
    return await api.post("/api/documents/upload", files={"file": (f"{tag}.csv", content, "text/csv")})


async def _quota(api: httpx.AsyncClient) -> dict[str, object]:
    me = await api.get("/api/users/me")
    assert me.status_code == 200, me.text
    return me.json()["data"]["quota"]  # type: ignore[no-any-return]


async def test_the_fourth_upload_of_the_day_is_refused_and_leaves_nothing(api: httpx.AsyncClient) -> None:
    for index in range(3):
        r = await _upload(api, 12, f"day-{index}")
        assert r.status_code == 202, r.text
    quota = await _quota(api)
    assert quota["documents_today"] == {"used": 3, "limit": 3}
    assert quota["storage_bytes"] == {"used": 36, "limit": 1000}
    files = _stored_files()
    r = await _upload(api, 12, "day-3")
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["error_code"] == "DAILY_DOCUMENT_QUOTA_EXCEEDED"
    assert body["details"]["limit"] == 3 and body["details"]["used"] == 3
    assert 1 <= int(r.headers["Retry-After"]) <= 86_400
    assert _stored_files() == files  # nor a stored original, nor a temp file
    listed = (await api.get("/api/documents/")).json()
    assert listed["total"] == 3
    # Deleting gives the bytes back, not the day's place.
    await api.delete(f"/api/documents/{listed['data'][0]['id']}")
    quota = await _quota(api)
    assert quota["documents_today"] == {"used": 3, "limit": 3}
    assert quota["storage_bytes"] == {"used": 24, "limit": 1000}
    assert (await _upload(api, 12, "day-4")).status_code == 429


async def test_a_file_past_the_storage_quota_is_refused_and_leaves_nothing(api: httpx.AsyncClient) -> None:
    assert (await _upload(api, 600, "big-0")).status_code == 202
    files = _stored_files()
    r = await _upload(api, 401, "big-1")
    assert r.status_code == 413, r.text
    assert r.json()["error_code"] == "STORAGE_QUOTA_EXCEEDED"
    assert r.json()["details"] == {"limit": 1000, "used": 600, "size": 401}
    assert _stored_files() == files
    assert (await api.get("/api/documents/")).json()["total"] == 1
    assert (await _upload(api, 400, "big-2")).status_code == 202  # exactly up to the limit
    assert (await _quota(api))["storage_bytes"] == {"used": 1000, "limit": 1000}


async def test_parallel_uploads_at_the_edge_admit_exactly_the_quota(api: httpx.AsyncClient) -> None:
    assert (await _upload(api, 12, "edge-0")).status_code == 202
    files = _stored_files()
    responses = await asyncio.gather(*(_upload(api, 12, f"edge-{i}") for i in range(1, 9)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202, 202] + [429] * 6, [r.text for r in responses]
    assert (await api.get("/api/documents/")).json()["total"] == 3
    assert len(_stored_files() - files) == 2
    assert (await _quota(api))["documents_today"] == {"used": 3, "limit": 3}
