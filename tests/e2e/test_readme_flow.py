"""The README walked over real HTTP against uvicorn + a Celery worker on PostgreSQL and Redis."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from fastapi_app.extractors.base import SCHEMA_VERSION
from tests.support.client import ApiClient
from tests.support.corpus import corpus_path
from tests.support.documents import korean_invoice_xlsx, small_text_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _stored_files(stack: Stack) -> list[Path]:
    media = Path(stack.env["UPLOAD_DIR"])
    return [p for p in media.rglob("*") if p.is_file() and ".tmp" not in p.parts]


def test_readme_walkthrough(live_stack: Stack, tmp_path: Path) -> None:
    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    me = api.get("/api/users/me").json()
    assert me["success"] is True and me["data"]["username"] == account["username"]
    assert "hashed_password" not in me["data"]

    pdf = corpus_path("invoice_qualityhosting_de.pdf")
    xlsx = korean_invoice_xlsx(tmp_path / "invoice.xlsx")
    jpeg = corpus_path("nikon_d70.jpg")

    uploads = {
        "pdf": api.upload(pdf, filename="품질호스팅 송장.pdf"),
        "excel": api.upload(xlsx, filename="한빛상사 견적서.xlsx", file_type="excel"),
        "image": api.upload(jpeg),
    }
    ids = {}
    for kind, response in uploads.items():
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["success"] is True
        assert body["data"]["status"] == "pending" and body["data"]["file_type"] == kind
        ids[kind] = body["data"]["id"]
    assert uploads["pdf"].json()["data"]["original_filename"] == "품질호스팅 송장.pdf"

    for document_id in ids.values():
        done = api.wait_for(document_id)
        assert done["status"] == "completed", done
        assert done["progress"] == 100 and done["processing_ms"] is not None

    pdf_result = api.extracted(ids["pdf"])
    assert pdf_result["schema_version"] == SCHEMA_VERSION
    assert pdf_result["pdf"]["page_count"] == len(pdf_result["pdf"]["pages"]) == 2
    flat = "".join(pdf_result["text"].split())
    for fact in ("QualityHosting", "Rechnungsnr.", "30064443", "DE232446240", "TotalEUR"):
        assert fact in flat

    xlsx_result = api.extracted(ids["excel"])
    sheets = {s["name"]: s for s in xlsx_result["spreadsheet"]["sheets"]}
    assert list(sheets) == ["송장", "요약"]
    invoice_rows = sheets["송장"]["rows"]
    assert invoice_rows[0] == ["송장번호", "INV-2026-0315", "", ""]
    assert invoice_rows[1] == ["공급자", "주식회사 한빛상사", "", ""]
    assert invoice_rows[2][1].startswith("2026-03-15")
    assert ["모니터", 4, 200000, 800000] in invoice_rows
    assert sheets["요약"]["rows"][1] == ["합계 금액", 1100000]
    assert xlsx_result["language"] in ("ko", "mixed")

    image_result = api.extracted(ids["image"])
    assert image_result["image"]["format"] == "JPEG"
    assert image_result["image"]["exif"]["Make"] == "NIKON CORPORATION"
    assert image_result["image"]["exif"]["Model"] == "NIKON D70"
    assert image_result["image"]["gps"] is None

    # Reports: one version per processing run.
    reports = api.get(f"/api/documents/{ids['pdf']}/reports").json()["data"]
    assert [r["version"] for r in reports] == [1]
    report = api.get(f"/api/documents/{ids['pdf']}/reports/{reports[0]['id']}").json()["data"]
    assert report["content"]["document"]["page_count"] == 2
    assert report["content"]["document"]["filename"] == "품질호스팅 송장.pdf"

    # Download: the same bytes, the right type, the Korean name intact.
    download = api.get(f"/api/documents/{ids['pdf']}/download")
    assert download.status_code == 200
    assert download.content == pdf.read_bytes()
    assert download.headers["content-type"] == "application/pdf"
    assert f"filename*=UTF-8''{quote('품질호스팅 송장.pdf')}" in download.headers["content-disposition"]

    # Reprocess adds a second report version and keeps the first.
    again = api.post(f"/api/documents/{ids['pdf']}/reprocess")
    assert again.status_code == 202 and again.json()["data"]["current_run"] == 2
    assert api.wait_for(ids["pdf"])["status"] == "completed"
    versions = [r["version"] for r in api.get(f"/api/documents/{ids['pdf']}/reports").json()["data"]]
    assert versions == [2, 1]

    # List, filters and stats.
    listing = api.get("/api/documents/", params={"page_size": 2}).json()
    assert listing["total"] == 3 and listing["total_pages"] == 2 and len(listing["data"]) == 2
    assert {"success", "message", "data", "total", "page", "page_size", "total_pages"} <= set(listing)
    only_pdf = api.get("/api/documents/", params={"file_type": "pdf"}).json()
    assert [d["id"] for d in only_pdf["data"]] == [ids["pdf"]]
    by_name = api.get("/api/documents/", params={"search": "견적"}).json()
    assert [d["id"] for d in by_name["data"]] == [ids["excel"]]
    stats = api.get("/api/documents/stats/summary").json()["data"]
    assert stats["total_documents"] == 3
    assert stats["by_status"]["completed"] == 3
    assert stats["by_type"] == {"excel": 1, "pdf": 1, "image": 1, "hwp": 0}
    assert stats["total_size_bytes"] == pdf.stat().st_size + xlsx.stat().st_size + jpeg.stat().st_size

    # Delete removes the row, the file, the extraction and the reports.
    before = len(_stored_files(live_stack))
    deleted = api.request("DELETE", f"/api/documents/{ids['image']}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert api.get(f"/api/documents/{ids['image']}").status_code == 404
    assert api.get(f"/api/documents/{ids['image']}/extracted-data").status_code == 404
    assert len(_stored_files(live_stack)) == before - 1


def test_text_pdf_upload_to_completed(client: ApiClient) -> None:
    r = client.upload_bytes(small_text_pdf(), "invoice-42183017.pdf")
    assert r.status_code == 202
    done = client.wait_for(r.json()["data"]["id"])
    assert done["status"] == "completed"
    result = client.extracted(done["id"])
    assert "Invoice Number 42183017" in result["text"]
    assert result["language"] == "en"


def test_extracted_data_before_completion_is_409(client: ApiClient) -> None:
    r = client.upload_bytes(small_text_pdf(), "early.pdf")
    document_id = r.json()["data"]["id"]
    early = client.get(f"/api/documents/{document_id}/extracted-data")
    if early.status_code == 409:  # usually: the worker has not finished yet
        assert early.json()["error_code"] == "DOCUMENT_NOT_READY"
        assert early.json()["details"]["status"] in ("pending", "processing")
    client.wait_for(document_id)
    assert client.get(f"/api/documents/{document_id}/extracted-data").status_code == 200


def test_two_users_cannot_see_each_other(live_stack: Stack) -> None:
    alice = ApiClient(live_stack.base_url)
    alice_account = alice.register_and_login()
    bob = ApiClient(live_stack.base_url)
    bob.register_and_login()

    document_id = alice.upload_bytes(small_text_pdf(), "alice-only.pdf").json()["data"]["id"]
    alice.wait_for(document_id)
    report_id = alice.get(f"/api/documents/{document_id}/reports").json()["data"][0]["id"]

    for method, path in [
        ("GET", f"/api/documents/{document_id}"),
        ("GET", f"/api/documents/{document_id}/download"),
        ("GET", f"/api/documents/{document_id}/extracted-data"),
        ("GET", f"/api/documents/{document_id}/reports"),
        ("GET", f"/api/documents/{document_id}/reports/{report_id}"),
        ("POST", f"/api/documents/{document_id}/reprocess"),
        ("DELETE", f"/api/documents/{document_id}"),
        ("GET", f"/api/users/{alice_account['user']['id']}"),
    ]:
        r = bob.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["success"] is False and r.json()["error_code"].endswith("NOT_FOUND")
    assert bob.get("/api/documents/").json()["total"] == 0
    assert bob.get("/api/documents/stats/summary").json()["data"]["total_documents"] == 0
    # Alice still has it, untouched.
    assert alice.get(f"/api/documents/{document_id}").json()["data"]["status"] == "completed"
    assert alice.get(f"/api/users/{alice_account['user']['id']}").status_code == 200


def test_list_filters_by_date_range(client: ApiClient) -> None:
    from datetime import UTC, datetime, timedelta

    document_id = client.upload_bytes(small_text_pdf(), "dated.pdf").json()["data"]["id"]
    now = datetime.now(UTC)
    naive_past = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    inside = client.get("/api/documents/", params={"date_from": naive_past}).json()
    assert document_id in [d["id"] for d in inside["data"]]
    future = (now + timedelta(hours=1)).isoformat()
    outside = client.get("/api/documents/", params={"date_from": future}).json()
    assert outside["total"] == 0
    before = client.get("/api/documents/", params={"date_to": (now - timedelta(days=1)).isoformat()}).json()
    assert before["total"] == 0
