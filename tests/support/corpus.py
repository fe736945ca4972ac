"""The shared public corpus (../shared/corpus): real files with facts from their own projects."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(os.environ.get("CORPUS_DIR") or ROOT.parent / "shared" / "corpus")
CORPUS_FILES = CORPUS_DIR / "files"


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
