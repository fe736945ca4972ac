"""The domain's words are written once (fastapi_app/core/vocabulary.py): the API schema's enums are the
vocabulary's values, and no other module spells an event type or a status/family Literal by hand."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import fastapi_app
from fastapi_app.core.vocabulary import DocumentStatus, EventType, FileFamily
from fastapi_app.main import create_app

PACKAGE = Path(fastapi_app.__file__).parent
VOCABULARY = PACKAGE / "core" / "vocabulary.py"


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


def test_openapi_enums_are_the_vocabulary() -> None:
    schema = create_app().openapi()
    listing = {p["name"]: p for p in schema["paths"]["/api/v1/documents/"]["get"]["parameters"]}
    assert listing["status"]["schema"]["anyOf"][0]["enum"] == _values(DocumentStatus)
    assert listing["file_type"]["schema"]["anyOf"][0]["enum"] == _values(FileFamily)
    upload = schema["paths"]["/api/v1/documents/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file_type"]["enum"] == _values(FileFamily)
    summary_filter = schema["components"]["schemas"]["SummaryFilter"]["properties"]
    assert summary_filter["status"]["anyOf"][0]["enum"] == _values(DocumentStatus)
    assert summary_filter["file_type"]["anyOf"][0]["enum"] == _values(FileFamily)


def _hand_written(values: set[str]) -> list[str]:
    """Where a module other than the vocabulary spells one of `values` as a string, or lists them in a
    Literal[...]: "path:line"."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == VOCABULARY:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in values:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_event_types_are_spelled_only_in_the_vocabulary() -> None:
    assert _hand_written(set(_values(EventType))) == []


def test_no_hand_written_status_or_family_literal() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
                words = {c.value for c in ast.walk(node.slice) if isinstance(c, ast.Constant)}
                if words & (set(_values(DocumentStatus)) | set(_values(FileFamily))):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
