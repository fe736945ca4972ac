"""tests/corpus/SOURCES accounts for every corpus file: listed with its licence, the bytes unchanged."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"


def _manifest(folder: str) -> list[dict[str, object]]:
    path = CORPUS / folder / "manifest.json" if folder == "hwp" else CORPUS / "manifest.json"
    return list(json.loads(path.read_text(encoding="utf-8")))


def _sources() -> dict[str, str]:
    """SOURCES entries by `folder/file`."""
    text = (CORPUS / "SOURCES").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=(?:files|hwp)/\S+\n)", text)
    return {block.split("\n", 1)[0]: block for block in blocks if re.match(r"(files|hwp)/\S+\n", block)}


@pytest.mark.parametrize("folder", ["files", "hwp"])
def test_every_corpus_file_is_in_sources_with_its_origin_licence_and_hash(folder: str) -> None:
    sources = _sources()
    entries = _manifest(folder)
    on_disk = {p.name for p in (CORPUS / folder).iterdir() if p.name != "manifest.json"}
    assert on_disk == {str(e["file"]) for e in entries}, "a file without a manifest entry, or the reverse"
    for entry in entries:
        name = f"{folder}/{entry['file']}"
        block = sources.get(name)
        assert block, f"{name} is not in tests/corpus/SOURCES"
        data = (CORPUS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{name} differs from its source"
        assert len(data) == entry["size_bytes"]
        for key in ("repository", "path", "commit", "licence", "facts from"):
            assert re.search(rf"^  {key} +\S", block, re.M), f"{name}: no {key} in SOURCES"
        assert str(entry["sha256"]) in block and str(entry["source_repo"]) in block


def test_no_agpl_document_is_in_the_repository() -> None:
    entries = [*_manifest("files"), *_manifest("hwp")]
    licences = {str(e["file"]): str(e.get("licence") or e.get("license")) for e in entries}
    assert not [name for name, licence in licences.items() if "GPL" in licence.upper()]
    assert not list(CORPUS.rglob("pyhwp_*"))
