"""The lock files: every transitive dependency pinned with hashes, the same versions as the requirement
files, installed hash-checked by every installer; and the runtime requirements are what the service
itself imports (nothing only the tests use ships in the image)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME, DEV = "requirements-fastapi.txt", "requirements-dev.txt"
RUNTIME_LOCK, DEV_LOCK = "requirements.lock", "requirements-dev.lock"

# Runtime requirements the service's code does not import: where each one is used instead.
NOT_IMPORTED = {
    "uvicorn": ("Dockerfile", "uvicorn"),  # the ASGI server; also start_dev.sh, compose
    "gunicorn": ("start_production.sh", "gunicorn"),  # the production process manager
    "flower": ("start_flower.sh", "flower"),  # the Celery dashboard, run as a command
    "email-validator": ("fastapi_app/schemas/user.py", "EmailStr"),  # pydantic's EmailStr needs it
    "aiosqlite": ("fastapi_app/core/config.py", "aiosqlite"),  # SQLAlchemy drivers chosen by DATABASE_URL
    "psycopg": ("fastapi_app/core/config.py", "psycopg"),
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_pins(name: str) -> dict[str, str]:
    """`name==version` lines of a requirements file and the files it includes with -r."""
    pins: dict[str, str] = {}
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins |= direct_pins(line[3:].strip())
        elif line:
            match = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)", line)
            assert match, f"{name}: not pinned with ==: {raw!r}"
            pins[normalize(match[1])] = match[3]
    return pins


def lock_entries(name: str) -> list[tuple[str, str, str, list[str]]]:
    """(name, version, markers, hashes) of each requirement in a lock file."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / name).read_text())
    entries = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)\s*(?:;\s*(.*?))?\s*((?:--hash=\S+\s*)*)", line)
        assert match, f"{name}: not a pinned requirement with hashes: {raw!r}"
        hashes = match[4].split()
        entries.append((normalize(match[1]), match[2], (match[3] or "").strip(), hashes))
    return entries


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK])
def test_lock_pins_every_dependency_with_sha256_hashes(lock: str) -> None:
    entries = lock_entries(lock)
    assert len(entries) > 50
    for name, _version, _markers, hashes in entries:
        assert hashes and all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", h) for h in hashes), name


@pytest.mark.parametrize(("requirements", "lock"), [(RUNTIME, RUNTIME_LOCK), (DEV, DEV_LOCK)])
def test_lock_holds_every_pinned_version(requirements: str, lock: str) -> None:
    locked: dict[str, set[str]] = {}
    for name, version, _markers, _hashes in lock_entries(lock):
        locked.setdefault(name, set()).add(version)
    wrong = {name: (version, locked.get(name)) for name, version in direct_pins(requirements).items()}
    assert not {name: v for name, v in wrong.items() if v[1] != {v[0]}}, "run scripts/lock.sh"


def test_dev_lock_keeps_the_runtime_versions() -> None:
    """Tests run on exactly what the image installs, plus the test tools."""
    runtime = {(n, v, m) for n, v, m, _ in lock_entries(RUNTIME_LOCK)}
    dev = {(n, v, m) for n, v, m, _ in lock_entries(DEV_LOCK)}
    assert runtime - dev == set()


def test_every_installer_uses_a_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"COPY {RUNTIME_LOCK} ." in dockerfile
    assert re.search(rf"pip install [^\n]*--require-hashes -r {re.escape(RUNTIME_LOCK)}", dockerfile)
    assert re.search(r'pip install [^\n]*--require-hashes -r "\$REQ"', (ROOT / "start_dev.sh").read_text())
    assert f"REQ={RUNTIME_LOCK}" in (ROOT / "start_dev.sh").read_text()
    run_tests = (ROOT / "run_tests.sh").read_text()
    assert f"LOCK={DEV_LOCK}" in run_tests and re.search(r'--require-hashes -r "\$LOCK"', run_tests)
    assert "./run_tests.sh" in (ROOT / ".ci" / "run").read_text()


def _service_imports() -> set[str]:
    files = [*(ROOT / "fastapi_app").rglob("*.py"), *(ROOT / "alembic").rglob("*.py"), ROOT / "init_db.py"]
    modules: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"__future__", "fastapi_app"}


def test_service_imports_only_runtime_dependencies() -> None:
    """A package the service imports but only the dev lock installs would be missing from the image."""
    distributions = importlib.metadata.packages_distributions()
    runtime = {name for name, *_ in lock_entries(RUNTIME_LOCK)}
    unknown = {module for module in _service_imports() if module not in distributions}
    assert not unknown, f"imported but not installed: {unknown}"
    missing = {
        module: dists
        for module in _service_imports()
        if not runtime & (dists := {normalize(d) for d in distributions[module]})
    }
    assert not missing, f"the service imports these, but {RUNTIME_LOCK} lacks them: {missing}"


def test_every_runtime_requirement_is_used_by_the_service() -> None:
    """What only tests or benchmarks use belongs in requirements-dev.txt, not in the image."""
    distributions = importlib.metadata.packages_distributions()
    imported = {normalize(d) for module in _service_imports() for d in distributions.get(module, [])}
    for name, (path, needle) in NOT_IMPORTED.items():
        assert needle in (ROOT / path).read_text(encoding="utf-8"), f"{name}: {path} no longer uses it"
    unused = set(direct_pins(RUNTIME)) - imported - set(NOT_IMPORTED)
    assert not unused, f"runtime requirements the service never uses (move them to {DEV}): {sorted(unused)}"
