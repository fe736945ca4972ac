"""HWP and HWPX documents through the real stack (uvicorn, Celery worker, PostgreSQL, Redis): recognised
as the `hwp` family from their bytes, processed by the worker, their text and tables in the stored
extraction and in the report, and counted under `hwp` in the list filter and the statistics."""

from __future__ import annotations

import json

import pytest

from tests.support.client import ApiClient
from tests.support.corpus import HWP_CORPUS

pytestmark = pytest.mark.e2e


def test_hwp_and_hwpx_uploads_give_text_tables_and_a_report(client: ApiClient) -> None:
    hwp = client.upload(HWP_CORPUS / "hwprs_hello_world.hwp", filename="인사.bin").json()["data"]
    hwpx = client.upload(HWP_CORPUS / "hwpxlib_table.hwpx").json()["data"]
    assert (hwp["file_type"], hwp["mime_type"]) == ("hwp", "application/x-hwp")  # from its bytes, not the name
    assert (hwpx["file_type"], hwpx["mime_type"]) == ("hwp", "application/hwp+zip")
    assert client.wait_for(hwp["id"])["status"] == "completed"
    assert client.wait_for(hwpx["id"])["status"] == "completed"

    text = client.extracted(hwp["id"])
    assert text["text"].startswith("Hello World!")
    assert text["hwp"]["version"] == "5.1.0.1" and text["hwp"]["metadata"]["title"] == "Hello World"

    table = client.extracted(hwpx["id"])
    assert "C반 기말고사" in table["text"]
    (grid,) = table["hwp"]["tables"]
    assert grid["header"] == ["이름", "국어", "영어", "수학"]
    assert grid["rows"][0] == ["개똥이", "89", "65", "78"] and grid["rows"][-1] == ["합계", "", "", ""]

    (summary,) = client.get(f"/api/documents/{hwpx['id']}/reports").json()["data"]
    download = f"/api/documents/{hwpx['id']}/reports/{summary['id']}/download"
    report = json.loads(client.get(download, params={"format": "json"}).content)
    assert report["document"]["file_type"] == "hwp"
    assert report["tables"][0]["rows"][0] == ["개똥이", "89", "65", "78"]
    assert "C반 기말고사" in report["text_excerpt"]
    markdown = client.get(download, params={"format": "md"}).text
    assert "| 개똥이 | 89 | 65 | 78 |" in markdown

    listed = client.get("/api/documents/", params={"file_type": "hwp"}).json()
    assert {d["id"] for d in listed["data"]} == {hwp["id"], hwpx["id"]}
    stats = client.get("/api/documents/stats/summary").json()["data"]
    assert stats["by_type"]["hwp"] == 2
