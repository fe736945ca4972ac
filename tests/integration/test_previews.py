"""Page previews in-process on PostgreSQL with local storage: real PDFs and images rendered to PNG."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.documents import korean_invoice_xlsx

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
async def api(postgres_app_env: str) -> AsyncIterator[httpx.AsyncClient]:
    from tests.conftest import signed_in_app_client

    async with signed_in_app_client() as client:
        yield client


async def _upload(api: httpx.AsyncClient, path: Path, **fields: str) -> str:
    r = await api.post("/api/documents/upload", files={"file": (path.name, path.read_bytes())}, data=fields)
    assert r.status_code == 202, r.text
    return str(r.json()["data"]["id"])


def _png(response: httpx.Response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "private, max-age=3600"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    image.load()
    return image


def _ink(image: Image.Image) -> float:
    """The share of pixels that are not near white."""
    gray = image.convert("L")
    histogram = gray.histogram()
    return sum(histogram[:200]) / (gray.width * gray.height)


async def test_pdf_pages_render_at_the_asked_width(api: httpx.AsyncClient) -> None:
    document_id = await _upload(api, SAMPLES / "pdf" / "twenty_pages.pdf")
    pages = (await api.get(f"/api/documents/{document_id}/pages")).json()["data"]
    assert pages == {"page_count": 20, "previewable": True}

    first = _png(await api.get(f"/api/documents/{document_id}/pages/1/preview", params={"width": 600}))
    assert first.width == 600
    assert 1.3 < first.height / first.width < 1.5  # A4 portrait
    assert 0.001 < _ink(first) < 0.5  # text on a white page: neither blank nor black
    default = _png(await api.get(f"/api/documents/{document_id}/pages/20/preview"))
    assert default.width == 1000

    past = await api.get(f"/api/documents/{document_id}/pages/21/preview")
    assert past.status_code == 404 and past.json()["error_code"] == "PAGE_NOT_FOUND"
    assert past.json()["details"] == {"page_count": 20}
    for bad in ("/pages/0/preview", "/pages/1/preview?width=199", "/pages/1/preview?width=2001"):
        r = await api.get(f"/api/documents/{document_id}{bad}")
        assert r.status_code == 422 and r.json()["error_code"] == "VALIDATION_ERROR", bad


async def test_encrypted_pdf_renders_with_the_uploaded_password(api: httpx.AsyncClient) -> None:
    encrypted = SAMPLES / "pdf" / "encrypted_user_pw.pdf"
    with_password = await _upload(api, encrypted, password="s3cret-비밀")
    assert (await api.get(f"/api/documents/{with_password}/pages")).json()["data"] == {
        "page_count": 1,
        "previewable": True,
    }
    assert _ink(_png(await api.get(f"/api/documents/{with_password}/pages/1/preview", params={"width": 400}))) > 0.001

    without = await _upload(api, encrypted)
    assert (await api.get(f"/api/documents/{without}/pages")).json()["data"] == {"page_count": 0, "previewable": False}
    r = await api.get(f"/api/documents/{without}/pages/1/preview")
    assert r.status_code == 404 and r.json()["error_code"] == "PREVIEW_UNAVAILABLE"


async def test_image_preview_is_upright_and_never_enlarged(api: httpx.AsyncClient) -> None:
    # Stored 3508 x 2480 with EXIF Orientation 6: upright it is a portrait page.
    rotated = await _upload(api, SAMPLES / "images" / "scan_rotated_exif.jpg")
    assert (await api.get(f"/api/documents/{rotated}/pages")).json()["data"] == {"page_count": 1, "previewable": True}
    upright = _png(await api.get(f"/api/documents/{rotated}/pages/1/preview", params={"width": 1000}))
    assert upright.size == (1000, round(3508 * 1000 / 2480))
    assert _ink(upright) > 0.001
    # A width the JPEG's reduced decoding (draft) must not undercut: it is the stored height that counts.
    wider = _png(await api.get(f"/api/documents/{rotated}/pages/1/preview", params={"width": 1300}))
    assert wider.size == (1300, round(3508 * 1300 / 2480))
    r = await api.get(f"/api/documents/{rotated}/pages/2/preview")
    assert r.status_code == 404 and r.json()["error_code"] == "PAGE_NOT_FOUND"

    small = await _upload(api, SAMPLES / "images" / "photo_gps_seoul.jpg")  # 320 x 240
    assert _png(await api.get(f"/api/documents/{small}/pages/1/preview", params={"width": 800})).size == (320, 240)


async def test_workbooks_have_no_preview_and_others_documents_are_not_found(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    workbook = await _upload(api, korean_invoice_xlsx(tmp_path / "invoice.xlsx"))
    assert (await api.get(f"/api/documents/{workbook}/pages")).json()["data"] == {"page_count": 0, "previewable": False}
    r = await api.get(f"/api/documents/{workbook}/pages/1/preview")
    assert r.status_code == 404 and r.json()["error_code"] == "PREVIEW_UNAVAILABLE"

    mine = await _upload(api, SAMPLES / "pdf" / "korean_invoice.pdf")
    name = f"o{uuid.uuid4().hex[:8]}"
    account = {"username": name, "email": f"{name}@example.com", "password": "password123"}
    assert (await api.post("/api/auth/register", json=account)).status_code == 201
    login = await api.post("/api/auth/login", data={"username": name, "password": "password123"})
    stranger = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for path in (f"/api/documents/{mine}/pages", f"/api/documents/{mine}/pages/1/preview"):
        r = await api.get(path, headers=stranger)
        assert r.status_code == 404 and r.json()["error_code"] == "DOCUMENT_NOT_FOUND", path
    r = await api.get(f"/api/documents/{mine}/pages/1/preview", headers={"Authorization": ""})
    assert r.status_code == 401
