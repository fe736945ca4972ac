"""The test corpus: real files with facts from their own projects (tests/corpus, see its SOURCES).

CORPUS_DIR overrides where it is read from. The AGPL HWP documents cannot be copied into the
repository: they are read in place from ../shared/corpus/hwp (SHARED_CORPUS_DIR overrides ../shared/corpus).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import ExtractionContext, ExtractionResult, Sheet, Table

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(os.environ.get("CORPUS_DIR") or ROOT / "tests" / "corpus")
CORPUS_FILES = CORPUS_DIR / "files"
# The permissively licensed HWP/HWPX documents (Apache-2.0), copied in.
HWP_CORPUS = ROOT / "tests" / "corpus" / "hwp"
SHARED_CORPUS_DIR = Path(os.environ.get("SHARED_CORPUS_DIR") or ROOT.parent / "shared" / "corpus")
SHARED_HWP_CORPUS = SHARED_CORPUS_DIR / "hwp"
_SHARED_HWP_SHOWN = (
    f"{os.environ['SHARED_CORPUS_DIR']}/hwp" if os.environ.get("SHARED_CORPUS_DIR") else "../shared/corpus/hwp"
)
SHARED_HWP_MISSING = (
    f"not run: {_SHARED_HWP_SHOWN} (AGPL test documents, kept outside the repository) is missing; "
    "CI has it beside its checkout (or set SHARED_CORPUS_DIR)"
)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The manifest's file types (a file's suffix, or its `actual_type` fact) as upload MIME types.
MIME_BY_TYPE = {
    "pdf": "application/pdf",
    "xlsx": XLSX_MIME,
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
    "jpg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "webp": "image/webp",
}
# The corpus names EXIF tags the way exifread prints them; Pillow uses the EXIF spec names.
EXIF_ALIASES = {"ExifImageLength": "ExifImageHeight"}


def corpus_path(name: str) -> Path:
    path = CORPUS_FILES / name
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {name} not found under {CORPUS_FILES} (set CORPUS_DIR)")
    return path


@lru_cache
def manifest() -> dict[str, dict[str, Any]]:
    entries = json.loads((CORPUS_DIR / "manifest.json").read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in entries}


def facts(name: str) -> dict[str, Any]:
    return dict(manifest()[name].get("facts", {}))


def hwp_manifest(folder: Path) -> list[dict[str, Any]]:
    """The entries of an HWP corpus folder's manifest.json (in the repository or the shared one)."""
    return list(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))


def actual_mime(name: str) -> str:
    """The MIME type of a corpus file's real content (its `actual_type` fact, else its suffix)."""
    return MIME_BY_TYPE[facts(name).get("actual_type") or Path(name).suffix.lstrip(".").lower()]


def extraction_context(path: Path, mime_type: str | None = None, **overrides: Any) -> ExtractionContext:
    """What the worker hands an extractor for this file (the MIME type from the suffix unless given)."""
    mime = mime_type or MIME_BY_TYPE[path.suffix.lstrip(".").lower()]
    supported = registry.supported_type(mime)
    assert supported is not None, mime
    data = path.read_bytes()
    return ExtractionContext(
        path=path,
        mime_type=mime,
        file_type=supported.family,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        **overrides,
    )


# --- matching extracted values against the facts ----------------------------------------------


def squash(value: Any) -> str:
    """The text without any white space: the facts and the extractions may break lines elsewhere."""
    return re.sub(r"\s+", "", "" if value is None else str(value))


def same_value(actual: Any, expected: Any) -> bool:
    """Numbers as numbers (300 == 300.0, "1/200" == 0.005), everything else exactly."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected or actual == expected
    if isinstance(expected, str) and re.fullmatch(r"\d+/\d+", expected) and isinstance(actual, (int, float)):
        return actual == pytest.approx(float(Fraction(expected)))
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return actual == pytest.approx(expected)
    if isinstance(expected, list) and isinstance(actual, (list, tuple)):
        pairs = zip(actual, expected, strict=True)
        return len(actual) == len(expected) and all(same_value(a, e) for a, e in pairs)
    return bool(actual == expected)


def sheet_named(result: ExtractionResult, name: str | None) -> Sheet | None:
    """The sheet called `name` (None: the first sheet); None when there is none of that name."""
    assert result.spreadsheet is not None
    if name is None:
        return result.spreadsheet.sheets[0]
    return next((s for s in result.spreadsheet.sheets if s.name == name), None)


def _column_index(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number - 1


def _split_ref(ref: str) -> tuple[int, int]:
    match = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    assert match, ref
    return int(match.group(2)) - 1, _column_index(match.group(1))


def cell(sheet: Sheet, ref: str) -> Any:
    """The value at an A1 reference; None outside the sheet's rows."""
    row_index, col_index = _split_ref(ref)
    if row_index >= len(sheet.rows):
        return None
    row = sheet.rows[row_index]
    return row[col_index] if col_index < len(row) else None


def used_range(sheet: Sheet) -> list[list[Any]]:
    """The rows and columns of the sheet's `dimensions` (e.g. "B2:D5")."""
    assert sheet.dimensions
    start, end = (_split_ref(ref) for ref in sheet.dimensions.split(":"))
    return [row[start[1] : end[1] + 1] for row in sheet.rows[start[0] : end[0] + 1]]


def full_rows(table: Table) -> list[list[Any]]:
    """Every row of the table as printed: a header of several rows counts as its rows."""
    return [*(table.header_rows or [table.header]), *table.rows]


def row_matches(actual: list[Any], expected: list[str]) -> bool:
    """Whitespace-insensitive; empty cells at either end of the extracted row may be missing."""
    cells = [squash(c) for c in actual]
    while cells and not cells[-1]:
        cells.pop()
    while cells and not cells[0]:
        cells.pop(0)
    return cells == [squash(e) for e in expected]
