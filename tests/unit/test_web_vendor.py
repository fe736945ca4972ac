"""The vendored browser libraries are exactly what VENDOR.json says (scripts/vendor_web.sh wrote it),
at the versions web/package-lock.json pins, each with its licence next to it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "fastapi_app" / "web" / "static" / "vendor"
MANIFEST = json.loads((VENDOR / "VENDOR.json").read_text(encoding="utf-8"))
LOCK = json.loads((ROOT / "web" / "package-lock.json").read_text(encoding="utf-8"))
PACKAGE = json.loads((ROOT / "web" / "package.json").read_text(encoding="utf-8"))


def test_every_vendored_file_is_listed_and_nothing_else() -> None:
    on_disk = {p.name for p in VENDOR.iterdir()} - {"VENDOR.json"}
    assert on_disk == set(MANIFEST)
    assert {"htm-preact-standalone.module.js", "chart.umd.js"} <= on_disk


def test_every_vendored_file_has_the_recorded_sha256() -> None:
    for name, entry in MANIFEST.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == entry["sha256"], name


def test_versions_and_licences_match_the_lock_file() -> None:
    htm_version = LOCK["packages"]["node_modules/htm"]["version"]
    for name, entry in MANIFEST.items():
        if entry["package"] == "preact":
            # Preact comes inside htm's standalone bundle, not as a package of its own.
            assert entry["version"] == f"bundled in htm {htm_version}", name
            assert entry["licence"] == "MIT"
            continue
        locked = LOCK["packages"][f"node_modules/{entry['package']}"]
        assert entry["version"] == locked["version"], name
        assert entry["licence"] == locked["license"], name


def test_the_direct_dependencies_are_pinned_exactly() -> None:
    assert PACKAGE["dependencies"] == {
        "chart.js": "4.4.7",
        "graphiql": "4.1.2",
        "htm": "3.1.1",
        "react": "18.3.1",
        "react-dom": "18.3.1",
    }
    for package, version in PACKAGE["dependencies"].items():
        assert LOCK["packages"][f"node_modules/{package}"]["version"] == version
        assert LOCK["packages"][f"node_modules/{package}"]["integrity"].startswith("sha512-")


def test_every_vendored_package_has_its_licence_text_next_to_it() -> None:
    packages = {entry["package"] for entry in MANIFEST.values()} | {"preact"}
    licences = {entry["package"] for name, entry in MANIFEST.items() if name.startswith("LICENSE-")}
    assert packages == licences
    for name in MANIFEST:
        if name.startswith("LICENSE-"):
            text = (VENDOR / name).read_text(encoding="utf-8")
            assert "MIT License" in text or "Apache License" in text, name


def test_the_libraries_are_the_builds_the_app_loads() -> None:
    bundle = (VENDOR / "htm-preact-standalone.module.js").read_text(encoding="utf-8")
    # One ES module exporting htm + Preact + hooks, with no bare imports (no import map needed).
    assert "import " not in bundle.split("export{", 1)[0][:200]
    for name in ("html", "render", "useState", "useEffect"):
        assert f" as {name}" in bundle, name
    chart = (VENDOR / "chart.umd.js").read_text(encoding="utf-8")
    assert f"Chart.js v{MANIFEST['chart.umd.js']['version']}" in chart[:200]


def test_node_modules_is_not_committed() -> None:
    assert "node_modules/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
