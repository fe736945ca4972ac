"""HWP and HWPX documents (Korean word processor): uploaded, recognised from their bytes as the `hwp`
family, processed, and every fact of their corpus manifest found in the stored result. Real documents:
the Apache-2.0 ones in tests/corpus/hwp, and the AGPL ones read in place from ../shared/corpus/hwp
(never copied in). The password-protected one fails with ENCRYPTED_FILE."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.corpus import HWP_CORPUS, hwp_manifest
from tests.support.hwp_facts import check_facts, squash

REPO_HWP = [entry["file"] for entry in hwp_manifest(HWP_CORPUS)]


@pytest.fixture(scope="module")
def sqlite_app_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from tests.conftest import migrated_sqlite_database

    with migrated_sqlite_database(tmp_path_factory.mktemp("hwp") / "app.sqlite3") as path:
        yield path


@pytest.fixture
async def api(sqlite_app_env: Path) -> AsyncIterator[httpx.AsyncClient]:
    from tests.conftest import signed_in_app_client

    async with signed_in_app_client() as client:
        yield client


async def _upload_and_process(api: httpx.AsyncClient, path: Path) -> dict[str, Any]:
    """Upload, run the processing pipeline (the worker's code, in this process), and return the document."""
    from fastapi_app.tasks.pipeline import DocumentPipeline

    r = await api.post("/api/documents/upload", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 202, (path.name, r.text)
    uploaded = r.json()["data"]
    assert uploaded["file_type"] == "hwp", uploaded
    await asyncio.to_thread(lambda: DocumentPipeline(uploaded["id"], 1).execute())
    document = (await api.get(f"/api/documents/{uploaded['id']}")).json()["data"]
    return dict(document)


async def _facts_found(api: httpx.AsyncClient, path: Path, facts: dict[str, Any]) -> tuple[int, list[str]]:
    document = await _upload_and_process(api, path)
    if facts.get("without_password_should_fail"):
        assert document["status"] == "failed", document
        assert document["error_code"] == "ENCRYPTED_FILE", document
        refused = await api.get(f"/api/documents/{document['id']}/extracted-data")
        assert refused.status_code in (404, 409), refused.text  # no result, no garbage text
        return 2, []
    assert document["status"] == "completed", document
    extracted = (await api.get(f"/api/documents/{document['id']}/extracted-data")).json()["data"]["result"]
    assert extracted["extractor"]["name"] == "hwp"
    return check_facts(path, facts, extracted, document["mime_type"])


@pytest.mark.parametrize("name", REPO_HWP)
async def test_hwp_documents_in_the_repository_give_every_fact(api: httpx.AsyncClient, name: str) -> None:
    entry = next(e for e in hwp_manifest(HWP_CORPUS) if e["file"] == name)
    checked, missing = await _facts_found(api, HWP_CORPUS / name, entry["facts"])
    assert missing == [], f"{name}: {len(missing)} of {checked} facts not found: {missing}"
    assert checked >= 2


async def test_agpl_hwp_documents_give_every_fact(api: httpx.AsyncClient, shared_hwp_corpus: Path) -> None:
    agpl = [entry for entry in hwp_manifest(shared_hwp_corpus) if "AGPL" in entry["license"]]
    assert len(agpl) == 4, agpl  # the four pyhwp documents: sample, footnotes, distribution, password
    report = {}
    for entry in agpl:
        name = entry["file"]
        assert not (HWP_CORPUS / name).exists(), f"{name} is AGPL: it must not be copied into the repository"
        report[name] = await _facts_found(api, shared_hwp_corpus / name, entry["facts"])
    assert {name: missing for name, (_, missing) in report.items() if missing} == {}
    assert sum(checked for checked, _ in report.values()) >= 25


async def test_a_hwp_report_shows_its_text_and_table_in_every_format(api: httpx.AsyncClient) -> None:
    import openpyxl
    import pypdfium2

    document = await _upload_and_process(api, HWP_CORPUS / "hwpxlib_table.hwpx")
    assert document["status"] == "completed", document
    reports = (await api.get(f"/api/documents/{document['id']}/reports")).json()["data"]
    base = f"/api/documents/{document['id']}/reports/{reports[0]['id']}"
    content = (await api.get(base)).json()["data"]["content"]
    assert content["document"]["file_type"] == "hwp"
    assert content["document"]["metadata"]["format_version"] == "HWPX 5.0.5.0"
    assert content["tables"][0]["header"] == ["이름", "국어", "영어", "수학"]
    assert ["개똥이", "89", "65", "78"] in content["tables"][0]["rows"]
    assert "C반 기말고사" in content["text_excerpt"]

    def download(fmt: str) -> Any:
        return api.get(f"{base}/download", params={"format": fmt})

    # The text excerpt is in the JSON only: the other renderers show no body text for any family.
    assert "C반 기말고사" in (await download("json")).text
    for fmt in ("json", "md", "html"):
        body = (await download(fmt)).text
        assert "개똥이" in body and "칠득이" in body and "HWPX 5.0.5.0" in body, fmt
    workbook = openpyxl.load_workbook(io.BytesIO((await download("xlsx")).content))
    cells = {str(c.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row if c.value}
    assert {"개똥이", "89", "수학"} <= cells
    pdf = pypdfium2.PdfDocument((await download("pdf")).content)
    pdf_text = squash("".join(page.get_textpage().get_text_range() for page in pdf))
    assert "개똥이" in pdf_text and "칠득이" in pdf_text
