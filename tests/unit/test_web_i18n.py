"""The web app's messages: Korean and English have the same keys, and every error code the service
can return (API errors, processing failures, extraction warnings) is explained in both."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi_app.core.errors import HTTP_STATUS_CODES

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "fastapi_app"
I18N = APP / "web" / "static" / "app" / "i18n"
KO = json.loads((I18N / "ko.json").read_text(encoding="utf-8"))
EN = json.loads((I18N / "en.json").read_text(encoding="utf-8"))

SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in APP.rglob("*.py"))
CODE = r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})"'
# Where the service names an error code: error classes and handlers, pipeline failures, worker outcomes.
ERROR_PATTERNS = (
    rf"error_code\s*=\s*{CODE}",
    rf'"error_code"\s*:\s*{CODE}',
    rf"(?:fail_unexpected|StepFailed)\(\s*{CODE}",
    rf'Outcome\(\s*"failed"\s*,\s*{CODE}',
    rf"_error\(\s*{CODE}",
)
WARNING_PATTERNS = (rf"\.warn\(\s*{CODE}", rf'"code"\s*:\s*{CODE}', rf"warnings\.append\(\(\s*{CODE}")


def _codes(patterns: tuple[str, ...]) -> set[str]:
    return {m for pattern in patterns for m in re.findall(pattern, SOURCES)}


def test_both_languages_have_the_same_keys_and_no_empty_message() -> None:
    assert set(KO) == set(EN)
    assert all(isinstance(v, str) and v.strip() for v in (*KO.values(), *EN.values()))


def test_placeholders_agree_between_languages() -> None:
    for key in KO:
        assert set(re.findall(r"\{(\w+)\}", KO[key])) == set(re.findall(r"\{(\w+)\}", EN[key])), key


def test_every_error_code_of_the_service_is_explained_in_both_languages() -> None:
    codes = _codes(ERROR_PATTERNS) | set(HTTP_STATUS_CODES.values()) | {"HTTP_ERROR"}
    # The search must find what the README documents, or it found nothing and proves nothing.
    assert {"DOCUMENT_NOT_FOUND", "ENCRYPTED_FILE", "WORKER_LOST", "PROCESSING_TIMEOUT", "MEMORY_LIMIT"} <= codes
    assert {"FILE_MISSING", "MALFORMED_MULTIPART", "RATE_LIMITED", "METHOD_NOT_ALLOWED"} <= codes
    missing = sorted(c for c in codes if f"error.{c}" not in KO)
    assert not missing, missing


def test_every_error_code_of_the_readme_is_explained() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    codes = {code for cell in first_cells for code in re.findall(r"`([A-Z][A-Z_]+)`", cell)}
    assert len(codes) > 30
    missing = sorted(c for c in codes if f"error.{c}" not in KO)
    assert not missing, missing


def test_every_warning_code_is_explained_in_both_languages() -> None:
    codes = _codes(WARNING_PATTERNS)
    assert {"OCR_UNAVAILABLE", "DUPLICATE_UPLOAD", "EXTENSION_MISMATCH", "TRUNCATED_IMAGE"} <= codes
    missing = sorted(c for c in codes if f"warning.{c}" not in KO)
    assert not missing, missing


def test_error_messages_are_korean_words_not_codes() -> None:
    hangul = re.compile(r"[\uac00-\ud7a3]")
    for key, text in KO.items():
        if key.startswith(("error.", "warning.")):
            assert hangul.search(text), key
            assert key.split(".", 1)[1] not in text, key


def test_every_key_the_app_uses_exists() -> None:
    used: set[str] = set()
    for path in (APP / "web" / "static" / "app").rglob("*.js"):
        used |= set(re.findall(r'\bt\(\s*"([a-z0-9_]+(?:\.[A-Za-z0-9_\-]+)+)"', path.read_text(encoding="utf-8")))
    assert used
    missing = sorted(k for k in used if k not in KO)
    assert not missing, missing
