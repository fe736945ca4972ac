"""The same flow on the defaults a new user gets: SQLite and the embedded broker, no servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.client import ApiClient
from tests.support.corpus import corpus_path
from tests.support.documents import korean_invoice_xlsx, small_text_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def test_embedded_walkthrough(embedded_stack: Stack, tmp_path: Path) -> None:
    ready = ApiClient(embedded_stack.base_url).get("/health/ready").json()
    assert ready["data"]["broker"] == "embedded" and ready["data"]["status"] == "ok"

    api = ApiClient(embedded_stack.base_url)
    api.register_and_login()
    pdf_bytes = small_text_pdf()
    pdf = api.upload_bytes(pdf_bytes, "송장.pdf")
    xlsx = api.upload(korean_invoice_xlsx(tmp_path / "견적.xlsx"))
    jpeg = api.upload(corpus_path("samsung_sm_g930f_gps.jpg"))
    ids = [r.json()["data"]["id"] for r in (pdf, xlsx, jpeg)]
    for document_id in ids:
        assert api.wait_for(document_id)["status"] == "completed"

    assert "Invoice Number 42183017" in api.extracted(ids[0])["text"]
    sheets = api.extracted(ids[1])["spreadsheet"]["sheets"]
    assert sheets[0]["name"] == "송장" and sheets[0]["rows"][0][:2] == ["송장번호", "INV-2026-0315"]
    gps = api.extracted(ids[2])["image"]["gps"]
    assert abs(gps["latitude"] - 51.025) < 0.0005 and abs(gps["longitude"] - 7.591944) < 0.0005

    download = api.get(f"/api/documents/{ids[0]}/download")
    assert download.content == pdf_bytes
    assert api.post(f"/api/documents/{ids[0]}/reprocess").status_code == 202
    assert api.wait_for(ids[0])["status"] == "completed"
    assert [r["version"] for r in api.get(f"/api/documents/{ids[0]}/reports").json()["data"]] == [2, 1]
    assert api.request("DELETE", f"/api/documents/{ids[1]}").status_code == 200
    assert api.get("/api/documents/stats/summary").json()["data"]["total_documents"] == 2
