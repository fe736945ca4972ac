"""The day-by-day statistics and the admin's hourly throughput, in-process on PostgreSQL and on SQLite
(the two databases the service runs on): the documents fall on the right day of the asked time zone
and in the right hour, every day and hour of the window is present."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.documents import small_text_pdf

pytestmark = pytest.mark.integration

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        request.getfixturevalue("postgres_app_env")
        yield "postgresql"
        return
    from tests.conftest import migrated_sqlite_database

    with migrated_sqlite_database(tmp_path / "app.sqlite3"):
        yield "sqlite"


@pytest.fixture
async def api(database: str) -> AsyncIterator[httpx.AsyncClient]:
    from tests.conftest import signed_in_app_client

    async with signed_in_app_client() as client:
        yield client


async def _upload(api: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    r = await api.post("/api/documents/upload", files={"file": ("t.pdf", small_text_pdf())}, headers=headers or {})
    assert r.status_code == 202, r.text
    return str(r.json()["data"]["id"])


def _set(document_id: str, **values: Any) -> None:
    from sqlalchemy import update

    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import Document

    with sync_session_factory().begin() as session:
        session.execute(update(Document).where(Document.id == uuid.UUID(document_id)).values(**values))


def _day(series: dict[str, Any], day: str) -> dict[str, Any]:
    return next(entry for entry in series["days"] if entry["date"] == day)


async def test_timeseries_counts_each_document_on_its_local_day(api: httpx.AsyncClient) -> None:
    # Seoul's midnight today is 15:00 UTC yesterday: 30 minutes either side are two days in Seoul, one in UTC.
    today = datetime.now(SEOUL).date()
    midnight = datetime.combine(today, time(0), tzinfo=SEOUL).astimezone(UTC)
    before, after = [await _upload(api) for _ in range(2)]
    _set(before, created_at=midnight - timedelta(minutes=30), status="failed", file_type="pdf")
    _set(after, created_at=midnight + timedelta(minutes=30), status="completed", processing_ms=100)
    # Two more completed today (Seoul), for the average and the median: 100, 200, 600 ms.
    for processing_ms in (200, 600):
        _set(
            await _upload(api),
            created_at=midnight + timedelta(hours=1),
            status="completed",
            processing_ms=processing_ms,
        )
    # Older than the window: not counted.
    _set(await _upload(api), created_at=midnight - timedelta(days=10))

    r = await api.get("/api/documents/stats/timeseries", params={"days": 3, "tz": "Asia/Seoul"})
    assert r.status_code == 200, r.text
    seoul = r.json()["data"]
    assert seoul["tz"] == "Asia/Seoul"
    assert [d["date"] for d in seoul["days"]] == [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    yesterday = _day(seoul, (today - timedelta(days=1)).isoformat())
    assert yesterday == {
        "date": (today - timedelta(days=1)).isoformat(),
        "total": 1,
        "by_status": {"pending": 0, "processing": 0, "completed": 0, "failed": 1},
        "by_type": {"excel": 0, "pdf": 1, "image": 0, "hwp": 0},
        "processing_ms_avg": None,
        "processing_ms_p50": None,
    }
    this_day = _day(seoul, today.isoformat())
    assert this_day["total"] == 3
    assert this_day["by_status"] == {"pending": 0, "processing": 0, "completed": 3, "failed": 0}
    assert (this_day["processing_ms_avg"], this_day["processing_ms_p50"]) == (300.0, 200.0)
    assert _day(seoul, (today - timedelta(days=2)).isoformat())["total"] == 0

    # In UTC all four fall on one day: yesterday's date in UTC (15:00 UTC is Seoul's midnight).
    utc = (await api.get("/api/documents/stats/timeseries", params={"days": 3, "tz": "UTC"})).json()["data"]
    by_date = {d["date"]: d["total"] for d in utc["days"]}
    assert by_date[midnight.date().isoformat()] == 4
    assert sum(by_date.values()) == 4


async def test_timeseries_refuses_a_bad_window_or_zone(api: httpx.AsyncClient) -> None:
    for params, field in (({"days": 0}, "days"), ({"days": 367}, "days"), ({"tz": "Mars/Olympus"}, "tz")):
        r = await api.get("/api/documents/stats/timeseries", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["error_code"] == "VALIDATION_ERROR"
        assert field in str(r.json()["details"]["errors"][0]["loc"])
    year = (await api.get("/api/documents/stats/timeseries", params={"days": 366, "tz": "UTC"})).json()["data"]
    assert len(year["days"]) == 366 and year["days"][-1]["date"] == datetime.now(UTC).date().isoformat()


async def test_admin_throughput_counts_each_hour(api: httpx.AsyncClient, database: str) -> None:
    from init_db import create_superuser

    name = f"root{uuid.uuid4().hex[:8]}"
    create_superuser(name, f"{name}@example.com", "root-password-1")
    login = await api.post("/api/auth/login", data={"username": name, "password": "root-password-1"})
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    # Hours far back in the window, where no other test of the session finishes documents.
    outcomes = [(20, "completed", 5), (20, "failed", 10), (20, "completed", 59), (21, "completed", 1)]
    for hours_ago, status, minute in outcomes:
        _set(await _upload(api), status=status, completed_at=this_hour - timedelta(hours=hours_ago, minutes=-minute))
    # Finished before the window: not counted.
    _set(await _upload(api), status="failed", completed_at=this_hour - timedelta(hours=30))

    r = await api.get("/api/admin/operations", params={"hours": 24}, headers=admin)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    hours = [datetime.fromisoformat(h["hour"]) for h in data["throughput"]]
    assert hours == [this_hour - timedelta(hours=n) for n in range(23, -1, -1)]
    counts = {datetime.fromisoformat(h["hour"]): (h["completed"], h["failed"]) for h in data["throughput"]}
    assert counts[this_hour - timedelta(hours=20)] == (2, 1)
    assert counts[this_hour - timedelta(hours=21)] == (1, 0)
    assert counts[this_hour - timedelta(hours=22)] == (0, 0)
    assert data["storage"]["documents_bytes"] >= 5 * len(small_text_pdf())
    assert data["totals"]["by_status"]["completed"] >= 3
    if database == "sqlite":  # a database of this test alone: the totals are exactly ours
        assert data["failure_rate"] == 0.25
        assert data["totals"]["documents"] == 5 and data["storage"]["files"] == 5
        assert data["storage"]["documents_bytes"] == 5 * len(small_text_pdf())
        assert data["totals"]["users"] == 2
