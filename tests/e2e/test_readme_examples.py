"""The README's curl walk-through, run verbatim with bash and curl against the live stack."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- readme-example:start -->\s*```bash\n(.*?)```\s*<!-- readme-example:end -->", text, re.S)
    assert block, "README lost its runnable example block"
    return block.group(1)


def split_outputs(stdout: str) -> list[object]:
    """curl prints JSON without a trailing newline: split the stream into JSON values and lines."""
    decoder = json.JSONDecoder()
    items: list[object] = []
    position = 0
    while position < len(stdout):
        if stdout[position].isspace():
            position += 1
        elif stdout[position] == "{":
            value, position = decoder.raw_decode(stdout, position)
            items.append(value)
        else:
            end = stdout.find("\n", position)
            end = len(stdout) if end == -1 else end
            items.append(stdout[position:end])
            position = end
    return items


def test_readme_curl_examples_work(live_stack: Stack, tmp_path: Path) -> None:
    assert shutil.which("curl"), "curl is needed to run the README's examples"
    sample = ROOT / "samples" / "invoice.pdf"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_example()],
        cwd=tmp_path,
        env={**live_stack.env, "BASE": live_stack.base_url, "SAMPLE_PDF": str(sample)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    outputs = split_outputs(result.stdout)
    assert "status: completed" in outputs
    registered, me = outputs[0], outputs[1]
    assert registered["success"] is True and registered["data"]["username"] == "testuser"  # type: ignore[index]
    assert me["data"]["email"] == "test@example.com"  # type: ignore[index]
    extracted = outputs[outputs.index("status: completed") + 1]
    assert "Invoice Number 42183017" in extracted["data"]["result"]["text"]  # type: ignore[index]
    # curl -J uses the ASCII fallback name (curl ignores filename*); the bytes are the original's.
    (downloaded,) = list(tmp_path.iterdir())
    assert downloaded.suffix == ".pdf"
    assert downloaded.read_bytes() == sample.read_bytes()
    listing = outputs[-4]
    assert listing["total"] == 1 and listing["data"][0]["original_filename"] == "견적서.pdf"  # type: ignore[index]
    deleted = outputs[-1]
    assert deleted == {"success": True, "message": "Document deleted", "data": None}
