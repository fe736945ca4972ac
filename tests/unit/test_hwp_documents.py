"""HWP and HWPX documents (Korean word processor): not extracted yet, so every one is refused at upload
with UNSUPPORTED_FILE_TYPE and leaves nothing behind. Real documents: the Apache-2.0 ones in
tests/corpus/hwp, and the AGPL ones read in place from ../shared/corpus/hwp (never copied in)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.corpus import HWP_CORPUS, hwp_manifest

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


def _stored_files() -> set[Path]:
    return {p for p in Path(os.environ["UPLOAD_DIR"]).rglob("*") if p.is_file() and ".ready-probe" not in p.name}


async def _assert_refused_and_nothing_stored(api: httpx.AsyncClient, path: Path) -> None:
    before = _stored_files()
    r = await api.post("/api/documents/upload", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 415, (path.name, r.text)
    body = r.json()
    assert body["success"] is False
    assert body["error_code"] == "UNSUPPORTED_FILE_TYPE", (path.name, body)
    assert body["message"].startswith("This kind of file is not supported."), body
    assert body["details"]["filename_extension"] == path.suffix
    listed = await api.get("/api/documents/")
    assert listed.status_code == 200 and listed.json()["total"] == 0 and listed.json()["data"] == []
    assert _stored_files() == before, f"{path.name} left files behind"


@pytest.mark.parametrize("name", REPO_HWP)
async def test_hwp_documents_in_the_repository_are_refused_cleanly(api: httpx.AsyncClient, name: str) -> None:
    await _assert_refused_and_nothing_stored(api, HWP_CORPUS / name)


async def test_agpl_hwp_documents_are_refused_cleanly(api: httpx.AsyncClient, shared_hwp_corpus: Path) -> None:
    agpl = [entry["file"] for entry in hwp_manifest(shared_hwp_corpus) if "AGPL" in entry["license"]]
    assert len(agpl) == 4, agpl  # the four pyhwp documents: sample, footnotes, distribution, password
    for name in agpl:
        assert not (HWP_CORPUS / name).exists(), f"{name} is AGPL: it must not be copied into the repository"
        await _assert_refused_and_nothing_stored(api, shared_hwp_corpus / name)
