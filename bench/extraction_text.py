"""Whole-PDF extraction (text, table detection, key values, entities) on text-only pages.

    .venv/bin/python -m bench.extraction_text [--pages 400] [--runs 5]

Builds a ~400-page PDF from the text-layer PDFs of the public corpus (and tests/samples/pdf when
present), then times `extract_document` (what the worker runs) on one core, against `pdftotext`
on the same file as the baseline. Prints pages/s, median of runs with min-max.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from fastapi_app.extractors.base import ExtractionContext
from fastapi_app.extractors.engine import extract_document
from tests.support.corpus import CORPUS_FILES
from tests.support.stack import ROOT

TEXT_PDFS = [
    "ca_warn_report_table.pdf", "three_tables_one_page.pdf", "table_with_rounded_borders.pdf",
    "invoice_qualityhosting_de.pdf", "invoice_free_fiber_fr.pdf", "metadata_japanese_title.pdf",
]  # fmt: skip


def build_corpus(pages: int, target: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    sources = [CORPUS_FILES / name for name in TEXT_PDFS]
    sources += [p for p in sorted((ROOT / "tests" / "samples" / "pdf").glob("*.pdf")) if "scanned" not in p.name
                and "encrypted" not in p.name]  # fmt: skip
    writer = PdfWriter()
    while len(writer.pages) < pages:
        for source in sources:
            try:
                reader = PdfReader(source)
                if reader.is_encrypted:
                    reader.decrypt("")
                for page in reader.pages:
                    if len(writer.pages) >= pages:
                        break
                    writer.add_page(page)
            except Exception as exc:  # a sample that pypdf cannot merge is left out, and said so
                print(f"skipped {source.name}: {type(exc).__name__}")
    with target.open("wb") as fh:
        writer.write(fh)
    return target


def time_ours(path: Path) -> tuple[float, int]:
    data = path.read_bytes()
    ctx = ExtractionContext(
        path=path, mime_type="application/pdf", file_type="pdf", size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(), ocr_enabled=False, max_pages=10_000,
    )  # fmt: skip
    started = time.perf_counter()
    result = extract_document(ctx)
    elapsed = time.perf_counter() - started
    return elapsed, result.pdf.page_count if result.pdf else 0


def time_pdftotext(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pdf = build_corpus(args.pages, Path(tmp) / "merged.pdf")
        ours, baseline, pages = [], [], 0
        for _ in range(args.runs):
            elapsed, pages = time_ours(pdf)
            ours.append(pages / elapsed)
            baseline.append(pages / time_pdftotext(pdf))
    print(f"| measure ({pages} text pages, median of {args.runs}) | pages/s | min-max |")
    print("|---|---|---|")
    print(f"| extract_document (text, tables, key values, entities) | {statistics.median(ours):.0f} | "
          f"{min(ours):.0f}-{max(ours):.0f} |")  # fmt: skip
    print(f"| pdftotext -layout (baseline) | {statistics.median(baseline):.0f} | "
          f"{min(baseline):.0f}-{max(baseline):.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
