"""PDF extraction throughput: our extractor vs pdftotext, and the table pass.

Run: .venv/bin/python -m bench.extraction_pdf [--runs 5]

Corpora are built in a temp dir with pypdf from the test corpus (tests/corpus) and tests/samples/pdf:
  text      ~400 pages: every readable corpus PDF and sample (no scans), concatenated until ~400 pages
  tables    only pages that hold a table (ca_warn, three_tables, rounded borders, invoice, samples)
  1-in-5    one table page, then four text pages, repeated (~200 pages)
OCR is off throughout: it measures the text layer and tables, not Tesseract. Numbers taken while others
use the CPU are provisional.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi_app.extractors import pdf
from fastapi_app.extractors.base import ExtractionContext
from tests.support.corpus import corpus_path

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "samples" / "pdf"
TEXT_SOURCES = [
    "ca_warn_report_table.pdf",
    "three_tables_one_page.pdf",
    "table_with_rounded_borders.pdf",
    "invoice_qualityhosting_de.pdf",
    "invoice_free_fiber_fr.pdf",
    "metadata_japanese_title.pdf",
    "malformed_offpage_text.pdf",
]
SAMPLE_SOURCES = ["korean_invoice.pdf", "unruled_table.pdf", "copy_protected.pdf", "twenty_pages.pdf"]


def _sources() -> list[Path]:
    return [corpus_path(n) for n in TEXT_SOURCES] + [SAMPLES / n for n in SAMPLE_SOURCES]


def _write(pages: list[tuple[Path, int]], out: Path) -> int:
    from pypdf import PdfReader, PdfWriter

    readers: dict[Path, PdfReader] = {}
    writer = PdfWriter()
    for path, index in pages:
        reader = readers.setdefault(path, PdfReader(path))
        writer.add_page(reader.pages[index])
    writer.write(out)
    return len(pages)


def _page_lists() -> tuple[list[tuple[Path, int]], list[tuple[Path, int]], list[tuple[Path, int]]]:
    """(all pages, table pages, text-only pages), found with our own extractor."""
    all_pages: list[tuple[Path, int]] = []
    table_pages: list[tuple[Path, int]] = []
    text_pages: list[tuple[Path, int]] = []
    for path in _sources():
        result = pdf.extract(_ctx(path))
        assert result.pdf is not None
        with_tables = {t.page for t in result.pdf.tables}
        for page in result.pdf.pages:
            item = (path, page.number - 1)
            all_pages.append(item)
            (table_pages if page.number in with_tables else text_pages).append(item)
    return all_pages, table_pages, text_pages


def build(tmp: Path) -> dict[str, tuple[Path, int]]:
    all_pages, table_pages, text_pages = _page_lists()
    text = (all_pages * (400 // len(all_pages) + 1))[:400]
    tables = (table_pages * (100 // len(table_pages) + 1))[:100]
    mixed: list[tuple[Path, int]] = []
    for i in range(40):
        mixed.append(table_pages[i % len(table_pages)])
        mixed += [text_pages[(4 * i + k) % len(text_pages)] for k in range(4)]
    corpora = {}
    for name, pages in (("text", text), ("tables", tables), ("1-in-5", mixed)):
        out = tmp / f"{name}.pdf"
        corpora[name] = (out, _write(pages, out))
    return corpora


def _ctx(path: Path, tables: bool = True) -> ExtractionContext:
    data = path.read_bytes()
    return ExtractionContext(
        path=path,
        mime_type="application/pdf",
        file_type="pdf",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        ocr_enabled=False,
        max_pages=10_000,
        extra={"pdf_tables": tables},
    )


def _ours(path: Path) -> None:
    pdf.extract(_ctx(path))


def _ours_text_only(path: Path) -> None:
    pdf.extract(_ctx(path, tables=False))


def _pdftotext(path: Path) -> None:
    subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True)


def _measure(fn: Callable[[Path], None], path: Path, pages: int, runs: int) -> tuple[float, float, float]:
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        fn(path)
        rates.append(pages / (time.perf_counter() - started))
    return statistics.median(rates), min(rates), max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        corpora = build(Path(tmp))
        _ours(corpora["text"][0])  # warm-up: imports and font caches
        rows = []
        text_path, text_n = corpora["text"]
        ours = _measure(_ours, text_path, text_n, args.runs)
        theirs = _measure(_pdftotext, text_path, text_n, args.runs)
        rows.append(("text, ours (text + table pass)", text_n, ours, None))
        text_only = _measure(_ours_text_only, text_path, text_n, args.runs)
        rows.append(("text, ours (table pass off)", text_n, text_only, None))
        rows.append(("text, pdftotext", text_n, theirs, None))
        for name, target in (("tables", 20.0), ("1-in-5", 100.0)):
            path, n = corpora[name]
            rows.append((f"{name}, ours", n, _measure(_ours, path, n, args.runs), target))

    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Median of {args.runs} runs; provisional if the CPU was shared.\n")
    print("| corpus | pages | pages/s (median) | min–max | target |")
    print("|---|---:|---:|---:|---|")
    for label, n, (median, low, high), target in rows:
        print(f"| {label} | {n} | {median:.0f} | {low:.0f}–{high:.0f} | {f'>= {target:.0f}' if target else ''} |")
    print(f"\nours / pdftotext: {ours[0] / theirs[0]:.0%} with tables, {text_only[0] / theirs[0]:.0%} text only")
    print("(target >= 70%)")
    # pdftotext is not measured: RUSAGE_CHILDREN counts the forked Python before exec
    print(f"peak RSS of this process (all corpora, 5 runs each): {own_rss:.0f} MB")


if __name__ == "__main__":
    main()
