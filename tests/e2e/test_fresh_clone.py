"""A fresh clone of the repository, alone in an empty directory (no ../shared beside it), collects the
whole suite: the corpus comes with the repository, and the tests on the AGPL HWP documents, which
cannot be copied in, say that they were not run and why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.services import in_ci

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AGPL_SKIP = (
    "not run: ../shared/corpus/hwp (AGPL test documents, kept outside the repository) is missing; "
    "CI has it beside its checkout (or set SHARED_CORPUS_DIR)"
)


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed HEAD only (what a new user or CI gets), cloned into an empty directory."""
    git = shutil.which("git")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True) if git else None
    if head is None or head.returncode != 0:
        message = f"not run: needs git and a git checkout at {ROOT}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    parent = tmp_path_factory.mktemp("fresh-clone")
    clone = parent / "repo"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True, timeout=120)
    subprocess.run(["git", "checkout", "-q", head.stdout.strip()], cwd=clone, check=True, timeout=120)
    assert not (parent / "shared").exists() and sorted(p.name for p in parent.iterdir()) == ["repo"]
    return clone


def _pytest_in(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The same interpreter, nothing pointing outside the clone."""
    env = {k: v for k, v in os.environ.items() if k not in {"CORPUS_DIR", "SHARED_CORPUS_DIR", "PYTHONPATH"}}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_fresh_clone_collects_every_test_with_the_corpus(fresh_clone: Path) -> None:
    result = _pytest_in(fresh_clone, "--collect-only", "-q")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected = [line for line in result.stdout.splitlines() if line.startswith("tests/")]
    assert "FileNotFoundError" not in result.stdout + result.stderr
    assert len(collected) > 400, result.stdout[-2000:]
    # Every corpus file is in the clone and some collected test is parametrized with it.
    manifest = json.loads((fresh_clone / "tests" / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest) == 25
    for entry in manifest:
        assert (fresh_clone / "tests" / "corpus" / "files" / entry["file"]).is_file(), entry["file"]
        assert any(entry["file"] in test_id for test_id in collected), f"no collected test uses {entry['file']}"
    assert any(
        t.startswith("tests/unit/test_hwp_documents.py::test_agpl_hwp_documents_give_every_fact") for t in collected
    )


def test_fresh_clone_runs_the_hwp_tests_and_reports_the_agpl_ones_as_not_run(fresh_clone: Path) -> None:
    result = _pytest_in(fresh_clone, "-q", "-rs", "tests/unit/test_hwp_documents.py")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "6 passed, 1 skipped" in output, output[-2000:]
    skipped = [line for line in output.splitlines() if line.startswith("SKIPPED [1] tests/unit/test_hwp_documents.py")]
    assert len(skipped) == 1 and skipped[0].endswith(AGPL_SKIP), output[-2000:]
    assert not list((fresh_clone / "tests" / "corpus").rglob("pyhwp_*")), "AGPL documents were committed"
