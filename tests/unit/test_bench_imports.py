"""bench/ shares helpers with the tests through public support modules only (issue 13)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What tests and bench share: tests/support (stacks, clients, documents, bombs, nginx) and the
# sample generators in tests/samples. Test modules and harnesses of one suite stay private to it.
PUBLIC_SUPPORT = ("tests.support", "tests.samples")


def _imports_from_tests(path: Path) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tests":
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name.split(".")[0] == "tests"]
    return found


def test_bench_imports_only_public_support_names() -> None:
    offending = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        for module, names in _imports_from_tests(path):
            public_module = any(module == p or module.startswith(p + ".") for p in PUBLIC_SUPPORT)
            private = [name for name in names if name.startswith("_")]
            if not public_module or private or any(part.startswith("_") for part in module.split(".")):
                offending.append(f"{path.relative_to(ROOT)}: from {module} import {', '.join(names) or '*'}")
    assert offending == [], "bench/ imports test internals:\n" + "\n".join(offending)


def test_the_check_sees_bench_imports() -> None:
    # Guards the test above against passing because it found nothing to check.
    assert _imports_from_tests(ROOT / "bench" / "http.py")
