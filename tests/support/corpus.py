"""The test corpus: real files with facts from their own projects (tests/corpus, see its SOURCES).

CORPUS_DIR overrides where it is read from. The AGPL HWP documents cannot be copied into the
repository: they are read in place from ../shared/corpus/hwp (SHARED_CORPUS_DIR overrides ../shared/corpus).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

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
