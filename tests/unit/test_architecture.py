"""The layers of fastapi_app hold: the import-linter contracts in pyproject.toml (no upward import,
extractors import only core, no cycle between sibling modules or packages), and no import cycle
between any two modules, imports inside functions included. docs/ARCHITECTURE.md describes the layers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_are_kept() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child) & modules))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("fastapi_app", cache_dir=None)
    assert _cycles(graph, set(graph.modules)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph, set(graph.modules)) == [["pkg.a", "pkg.b", "pkg.c"]]


_REFERENCE = re.compile(r"`((?:[a-z_]+/)+[a-z_]*(?:\.[A-Za-z_]+)?)[^`]*`")


def _resolves(reference: str) -> bool:
    """`pkg/module.py`, `pkg/module.Name`, `pkg/module` and `pkg/` name something that exists: a folder
    or file of the repository or of fastapi_app, or a name defined in that module."""
    path, _, name = reference.partition(".")
    for base in (ROOT, ROOT / "fastapi_app"):
        target = base / path
        if reference.endswith("/") and target.is_dir():
            return True
        if name == "py" and target.with_suffix(".py").is_file():
            return True
        module = target.with_suffix(".py") if target.with_suffix(".py").is_file() else target / "__init__.py"
        if module.is_file():
            if not name:
                return True
            source = module.read_text(encoding="utf-8")
            if re.search(rf"^\s*(?:async\s+def|def|class)\s+{name}\b|^{name}\s*[:=]", source, re.M):
                return True
    return False


def test_architecture_page_names_only_what_exists() -> None:
    """docs/ARCHITECTURE.md must match the code: every module, folder and function it names exists."""
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    references = {match.group(1) for match in _REFERENCE.finditer(page)}
    assert len(references) > 40
    assert [ref for ref in sorted(references) if not _resolves(ref)] == []
