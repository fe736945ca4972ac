"""Render time of each report format for one document's report.

    .venv/bin/python -m bench.report_render [FILE] [--runs 5]

Extracts FILE (default: tests/samples/pdf/twenty_pages.pdf, a 20-page Korean/English PDF with
tables) once, builds its report, then renders every format `--runs` times in this process. The
first render of a format includes loading its library (and the font, for PDF): shown apart.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from pathlib import Path

from fastapi_app.extractors.base import ExtractionContext
from fastapi_app.extractors.engine import extract_document
from fastapi_app.files.filetypes import detect_type
from fastapi_app.reports.builder import build_report_model
from fastapi_app.reports.renderers.registry import FORMATS, render
from tests.support.stack import ROOT

DEFAULT = ROOT / "tests" / "samples" / "pdf" / "twenty_pages.pdf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = Path(args.file)
    detected = detect_type(path, path.name, None)
    data = path.read_bytes()
    result = extract_document(
        ExtractionContext(
            path=path, mime_type=detected.mime_type, file_type=detected.family,  # type: ignore[arg-type]
            size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), ocr_enabled=False,
        )
    )  # fmt: skip
    report = build_report_model(result, filename=path.name, version=1)
    pages = result.pdf.page_count if result.pdf else "-"
    print(f"{path.name}: {pages} pages, {len(report.tables)} tables, {len(report.key_values)} key values\n")
    print(f"| format | first render ms | median of {args.runs} ms | min-max ms | size bytes |")
    print("|---|---|---|---|---|")
    for name in FORMATS:
        started = time.perf_counter()
        output = render(report, name)
        first = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            render(report, name)
            times.append((time.perf_counter() - started) * 1000)
        print(f"| {name} | {first:.1f} | {statistics.median(times):.2f} | {min(times):.2f}-{max(times):.2f} | "
              f"{len(output):,} |")  # fmt: skip


if __name__ == "__main__":
    main()
