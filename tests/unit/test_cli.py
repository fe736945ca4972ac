"""`python -m fastapi_app extract --timings`: the figures bench/pipeline_overhead.py compares with."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fastapi_app.cli import EXIT_FAILED, EXIT_OK, main
from tests.support.documents import korean_invoice_pdf

TIMINGS = re.compile(r"^timings: detect (\d+\.\d) ms, extract (\d+\.\d) ms$", re.MULTILINE)


def test_timings_go_to_stderr_and_leave_the_json_alone(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    invoice = tmp_path / "거래명세서.pdf"
    invoice.write_bytes(korean_invoice_pdf())
    assert main(["extract", str(invoice), "--timings"]) == EXIT_OK
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert "1,210,000" in result["text"]
    match = TIMINGS.search(captured.err)
    assert match is not None, captured.err
    detect_ms, extract_ms = (float(value) for value in match.groups())
    assert detect_ms > 0 and extract_ms > 0


def test_a_failed_extraction_still_reports_its_time(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(korean_invoice_pdf()[:400])
    assert main(["extract", str(broken), "--timings"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert '"error_code": "CORRUPT_FILE"' in err
    assert TIMINGS.search(err) is not None


def test_without_the_flag_stderr_stays_empty(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(korean_invoice_pdf())
    assert main(["extract", str(invoice)]) == EXIT_OK
    assert capsys.readouterr().err == ""
