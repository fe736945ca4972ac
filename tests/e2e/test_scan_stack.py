"""A scan fed into the scanner sideways, uploaded as a PDF to the real stack (uvicorn, Celery worker,
PostgreSQL, Redis): the page is turned upright before OCR and its invoice number is extracted."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.samples.scan_variants import variant
from tests.support.client import ApiClient
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def test_sideways_scan_pdf_gives_its_invoice_number(live_stack: Stack, tmp_path: Path) -> None:
    page, dpi = variant("dpi150")
    scan = tmp_path / "sideways_scan.pdf"
    page.transpose(Image.Transpose.ROTATE_90).convert("RGB").save(scan, "PDF", resolution=dpi)

    api = ApiClient(live_stack.base_url)
    api.register_and_login()
    response = api.upload(scan, filename="스캔 거래명세서.pdf")
    assert response.status_code == 202, response.text
    document_id = response.json()["data"]["id"]
    done = api.wait_for(document_id, timeout=300)
    assert done["status"] == "completed", done

    result = api.extracted(document_id)
    page_result = result["pdf"]["pages"][0]
    assert page_result["text_source"] == "ocr" and not page_result["has_text_layer"]
    assert page_result["ocr"]["orientation_degrees"] == 90
    assert "INV-2026-0315" in result["text"]
    pairs = {(p["key"], p["value"]) for p in result["key_values"]}
    assert ("송장번호", "INV-2026-0315") in pairs
    assert {"type": "business_registration_number", "value": "123-45-67890"}.items() <= next(
        e for e in result["entities"] if e["type"] == "business_registration_number"
    ).items()
