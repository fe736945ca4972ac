"""The facts of an HWP corpus manifest (tests/corpus/hwp, ../shared/corpus/hwp) checked against a stored
extraction result (the JSON of /extracted-data). Text is compared without whitespace (corpus README);
table rows are the header followed by the rows, as for PDF tables."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

_SPACE = re.compile(r"\s+")
# Facts about the file or the test setup, not about the extraction: nothing to compare.
_INFORMATIONAL = {"password", "expect", "opens", "should_not_crash"}


def squash(text: str) -> str:
    return _SPACE.sub("", text)


def _rows(table: dict[str, Any]) -> list[list[str]]:
    return [table["header"], *table["rows"]] if table["header"] else list(table["rows"])


def _same_row(found: list[str], expected: list[str]) -> bool:
    """Empty cells at the start or end of a row may be missing (corpus README)."""
    return [squash(str(c)) for c in found] == [squash(str(c)) for c in expected] or [
        squash(str(c)) for c in found if str(c).strip()
    ] == [squash(str(c)) for c in expected if str(c).strip()]


def check_facts(
    path: Path, facts: dict[str, Any], result: dict[str, Any] | None, mime_type: str
) -> tuple[int, list[str]]:
    """(facts checked, descriptions of the ones that do not hold). ``result`` is None for a document
    whose processing failed (the caller checks the failure facts)."""
    checked, missing = 0, []

    def check(ok: bool, what: str) -> None:
        nonlocal checked
        checked += 1
        if not ok:
            missing.append(what)

    if result is None:
        return checked, missing
    hwp = result["hwp"]
    text = squash(result["text"])
    notes = squash(" ".join(note["text"] for note in hwp["notes"]))
    tables = hwp["tables"]
    for key, expected in facts.items():
        if key in _INFORMATIONAL:
            continue
        if key == "hwp_version":
            check(hwp["version"] == expected, f"version {hwp['version']} != {expected}")
        elif key == "compressed":
            check(hwp["compressed"] is expected, f"compressed {hwp['compressed']}")
        elif key == "distributable":
            check(hwp["distribution"] is expected, f"distribution {hwp['distribution']}")
        elif key == "section_count":
            check(hwp["section_count"] == expected, f"section_count {hwp['section_count']}")
        elif key == "text_contains":
            for value in expected:
                check(squash(value) in text, f"text lacks {value!r}")
        elif key == "text_starts_with":
            check(text.startswith(squash(expected)), f"text starts {result['text'][:60]!r}")
        elif key == "note_text_contains":
            for value in expected:
                check(squash(value) in notes and squash(value) in text, f"notes lack {value!r}")
        elif key == "table_count":
            check(len(tables) == expected, f"{len(tables)} tables")
        elif key == "table_row_counts":
            check([len(_rows(t)) for t in tables] == expected, f"row counts {[len(_rows(t)) for t in tables]}")
        elif key == "table_rows_contain":
            for row in expected:
                found = _rows(tables[row["table"]]) if row["table"] < len(tables) else []
                check(any(_same_row(r, row["row"]) for r in found), f"table {row['table']} lacks row {row['row']}")
        elif key == "table_cells":
            for cell in expected:
                rows = _rows(tables[cell["table"]]) if cell["table"] < len(tables) else []
                try:
                    value = str(rows[cell["row"]][cell["col"]])
                except IndexError:
                    value = None
                if "value" in cell:
                    check(value is not None and squash(value) == squash(cell["value"]), f"cell {cell}: {value!r}")
                else:
                    lines = (value or "").split("\n")
                    check(lines == cell["value_contains"], f"cell {cell}: {value!r}")
        elif key == "mimetype":
            check(mime_type == expected, f"mime type {mime_type}")
        elif key == "missing_zip_entry":
            with zipfile.ZipFile(path) as archive:
                check(expected not in archive.namelist(), f"{expected} is in the file after all")
        elif key in ("password_protected", "without_password_should_fail"):
            check(False, f"{key}: the document was extracted")
        else:
            check(False, f"unknown fact {key}")
    return checked, missing
