"""The client's typed models (clients/python/src/docproc/models.py) are generated from the server's
OpenAPI schema; the committed file must equal a fresh generation, so the client cannot drift from the API."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "clients" / "python" / "scripts" / "generate_models.py"
MODELS = ROOT / "clients" / "python" / "src" / "docproc" / "models.py"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # get_type_hints resolves the annotations in the module's namespace
    spec.loader.exec_module(module)
    return module


def openapi() -> dict[str, Any]:
    from fastapi_app.main import create_app

    return create_app().openapi()


def test_committed_models_equal_a_fresh_generation() -> None:
    generator = load(GENERATOR, "generate_models")
    fresh = generator.generate(openapi())
    assert MODELS.read_text(encoding="utf-8") == fresh, (
        "clients/python/src/docproc/models.py is stale: run .venv/bin/python clients/python/scripts/generate_models.py"
    )


def test_models_carry_every_field_of_the_schema() -> None:
    models = load(MODELS, "docproc_models")
    schemas = openapi()["components"]["schemas"]
    for name in ("DocumentOut", "UserOut", "ReportSummaryOut", "TokenResponse", "BatchCreatedOut", "QuotaOut"):
        model = getattr(models, name)
        assert set(get_type_hints(model)) == set(schemas[name]["properties"]), name
        assert model.__required_keys__ == frozenset(schemas[name].get("required", [])), name
    hints = get_type_hints(models.DocumentOut)
    assert hints["size_bytes"] is int and hints["error_code"] == str | None
    assert get_type_hints(models.BatchItemOut)["document"] == models.DocumentOut | None
