"""The extractor contract (issue 13): one registry entry per family, each extractor named and
versioned in every result it makes, a context no extractor can change, and modules small enough
to read."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import ExtractionContext
from fastapi_app.extractors.engine import extract_document

if TYPE_CHECKING:
    from fastapi_app.extractors.base import Extractor

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "samples"
ONE_SAMPLE_PER_FAMILY = {
    "pdf": (SAMPLES / "pdf" / "korean_invoice.pdf", "application/pdf", "pdf"),
    "excel": (SAMPLES / "sheets" / "korean_cp949.csv", "text/csv", "spreadsheet"),
    "image": (SAMPLES / "images" / "photo_gps_seoul.jpg", "image/jpeg", "image"),
    "hwp": (ROOT / "tests" / "corpus" / "hwp" / "hwprs_hello_world.hwp", "application/x-hwp", "hwp"),
}


def _ctx(path: Path, mime_type: str, family: str) -> ExtractionContext:
    data = path.read_bytes()
    return ExtractionContext(
        path=path,
        mime_type=mime_type,
        file_type=family,  # type: ignore[arg-type]
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        ocr_enabled=False,
    )


@pytest.mark.parametrize("family", sorted(ONE_SAMPLE_PER_FAMILY))
def test_every_stored_result_names_the_extractor_and_its_version(family: str) -> None:
    path, mime_type, extractor_name = ONE_SAMPLE_PER_FAMILY[family]
    extractor = registry.extractor_for(mime_type)

    stored = extract_document(_ctx(path, mime_type, family)).model_dump(mode="json")

    assert stored["extractor"] == {"name": extractor_name, "version": extractor.version}
    assert extractor.version  # a version string, not an empty placeholder


# Extractors whose results changed for the same file (issue 15: pdf 1.1 OCRs pages with an unusable text
# layer and keeps multi-line cells and spanning headers in tables; image 1.1 turns pages upright before OCR;
# spreadsheet 1.1: computed formulas, durations in hours).
BUMPED_VERSIONS = {"pdf": "1.1", "image": "1.1", "spreadsheet": "1.1"}


def test_each_family_is_one_registry_entry_pointing_at_one_extractor() -> None:
    families = [family.name for family in registry.FAMILIES]
    assert sorted(families) == sorted(set(families)) == sorted(ONE_SAMPLE_PER_FAMILY)
    for family in registry.FAMILIES:
        extractors = {id(registry.extractor_for(mime_type)) for mime_type, _ in family.types}
        assert len(extractors) == 1, family.name
        extractor: Extractor = registry.extractor_for(family.types[0][0])
        assert (extractor.name, extractor.version) == (family.module, BUMPED_VERSIONS.get(family.module, "1.0"))
    assert {t.mime_type for t in registry.SUPPORTED_TYPES} == {m for f in registry.FAMILIES for m, _ in f.types}


def test_the_context_cannot_be_changed_once_made() -> None:
    path, mime_type, _ = ONE_SAMPLE_PER_FAMILY["pdf"]
    ctx = _ctx(path, mime_type, "pdf")

    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.path = Path("/elsewhere.pdf")  # type: ignore[misc]
    with pytest.raises(TypeError):
        ctx.extra["pdf_tables"] = False  # type: ignore[index]

    moved = dataclasses.replace(ctx, path=Path("/elsewhere.pdf"), extra={"pdf_tables": False})
    assert (moved.path, dict(moved.extra), ctx.path, dict(ctx.extra)) == (
        Path("/elsewhere.pdf"),
        {"pdf_tables": False},
        path,
        {},
    )


def test_no_extractor_module_is_over_500_lines() -> None:
    sizes = {
        str(module.relative_to(ROOT)): len(module.read_text().splitlines())
        for module in (ROOT / "fastapi_app" / "extractors").rglob("*.py")
    }
    assert {name: lines for name, lines in sizes.items() if lines > 500} == {}
