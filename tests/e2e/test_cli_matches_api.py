"""`python -m fastapi_app extract FILE` gives the same result as the API for the same file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import ApiClient
from tests.support.corpus import corpus_path
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

VOLATILE = {"timings_ms", "duration_ms"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _cli(path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_app", "extract", str(path), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    "name",
    ["invoice_qualityhosting_de.pdf", "merged_ranges_two_sheets.xlsx", "samsung_sm_g930f_gps.jpg",
     "semicolon_decimal_comma.csv"],
)  # fmt: skip
def test_cli_and_api_agree(client: ApiClient, live_stack: Stack, name: str) -> None:
    path = corpus_path(name)
    document_id = client.upload(path).json()["data"]["id"]
    assert client.wait_for(document_id)["status"] == "completed"
    api_result = client.extracted(document_id)

    cli = _cli(path, env=live_stack.env)
    assert cli.returncode == 0, cli.stderr
    assert _stable(json.loads(cli.stdout)) == _stable(api_result)


def test_cli_errors_are_envelopes_with_exit_codes(live_stack: Stack, tmp_path: Path) -> None:
    encrypted = _cli(corpus_path("encrypted_openpassword.pdf"), env=live_stack.env)
    assert encrypted.returncode == 4
    assert json.loads(encrypted.stderr)["error_code"] == "ENCRYPTED_FILE"
    opened = _cli(
        corpus_path("encrypted_openpassword.pdf"), "--password", "openpassword", "--pretty", env=live_stack.env
    )
    assert opened.returncode == 0 and json.loads(opened.stdout)["text"].startswith("Lorem ipsum")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert _cli(empty, env=live_stack.env).returncode == 3
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    rejected = _cli(text, env=live_stack.env)
    assert rejected.returncode == 3 and json.loads(rejected.stderr)["error_code"] == "UNSUPPORTED_FILE_TYPE"
