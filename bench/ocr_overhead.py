"""OCR overhead: the service's OCR path against the plain `tesseract` command on the same page.

    .venv/bin/python -m bench.ocr_overhead [--runs 5] [--profile]

Pages (each one file; both sides read that same file):
- ``invoice``: the generated Korean/English invoice (tests/samples/scan_variants.py), A4 at 300 dpi,
  saved as a grayscale PNG that says 300 dpi.
- ``scanned_pdf``: tests/samples/pdf/scanned_korean.pdf (an image-only A4 page). The service side is
  the PDF extractor (pypdfium2 renders the page at ``ocr_dpi``, then OCR); plain Tesseract reads that
  page rendered the same way and saved as a PNG.
- ``table_scan`` and ``photo``: table_scan_multirow_header.png (a scanned table, no dpi) and
  invoice_flipkart_scan.png (a 96 dpi phone/scan capture) from ../shared/corpus/files when present.

The service side is ``registry.extract`` on the file (what the worker runs: decode, EXIF, OCR with its
preprocessing, word-box tables). Plain Tesseract is ``tesseract FILE stdout -l kor+eng --psm 4``
(the service's page segmentation before it was chosen per page; the ratio column) and, for reference,
without ``--psm`` (Tesseract's default 3) and with ``--psm 6`` (what the service now uses on a page of
one uniform block of text; "service psm" says which one it chose, and the last ratio column compares
with plain Tesseract in that same mode). All with OMP_THREAD_LIMIT=1. Runs alternate service / psm 4 /
psm 3 / psm 6 so load changes hit every side alike. CPU is this process's CPU time plus that of its Tesseract children
(``resource.getrusage(RUSAGE_CHILDREN)``); the machine is shared, so CPU is the figure to read.
``--profile`` prints where the service's time went on each page (cProfile, children's CPU apart).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import ExtractionContext
from tests.samples.scan_variants import variant
from tests.support.stack import ROOT

CORPUS = ROOT.parent / "shared" / "corpus" / "files"
SCANNED_PDF = ROOT / "tests" / "samples" / "pdf" / "scanned_korean.pdf"
LANGUAGES = "kor+eng"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(action: Callable[[], object]) -> tuple[float, float]:
    """(wall s, CPU s of this process and its children) of one call."""
    wall, cpu, children = time.perf_counter(), time.process_time(), children_cpu()
    action()
    return time.perf_counter() - wall, (time.process_time() - cpu) + (children_cpu() - children)


def context(path: Path, mime_type: str, file_type: str) -> ExtractionContext:
    data = path.read_bytes()
    return ExtractionContext(
        path=path, mime_type=mime_type, file_type=file_type,  # type: ignore[arg-type]
        size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), ocr_languages=LANGUAGES,
    )  # fmt: skip


def pages(folder: Path) -> dict[str, tuple[ExtractionContext, Path]]:
    """Page name -> (the service's extraction context, the image file plain Tesseract reads)."""
    import pypdfium2 as pdfium

    found: dict[str, tuple[ExtractionContext, Path]] = {}
    invoice, dpi = variant("upright")
    invoice_png = folder / "invoice.png"
    invoice.convert("L").save(invoice_png, dpi=(dpi, dpi))
    found["invoice"] = (context(invoice_png, "image/png", "image"), invoice_png)
    pdf_ctx = context(SCANNED_PDF, "application/pdf", "pdf")
    document = pdfium.PdfDocument(SCANNED_PDF)
    try:
        rendered = document[0].render(scale=pdf_ctx.ocr_dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()
    rendered_png = folder / "scanned_pdf.png"
    rendered.save(rendered_png, dpi=(pdf_ctx.ocr_dpi, pdf_ctx.ocr_dpi))
    found["scanned_pdf"] = (pdf_ctx, rendered_png)
    for name, file in (("table_scan", "table_scan_multirow_header.png"), ("photo", "invoice_flipkart_scan.png")):
        if (CORPUS / file).is_file():
            found[name] = (context(CORPUS / file, "image/png", "image"), CORPUS / file)
    return found


def plain_tesseract(image: Path, psm: int | None) -> None:
    command = ["tesseract", str(image), "stdout", "-l", LANGUAGES, *(["--psm", str(psm)] if psm else [])]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})


def chosen_psm(image: Path) -> int:
    """The page segmentation the service chooses for this page (4 before it was chosen per page)."""
    from PIL import Image

    from fastapi_app.extractors import ocr, ocr_preprocess

    if not hasattr(ocr_preprocess, "prepare_page"):
        return 4
    with Image.open(image) as page:
        dpi = page.info.get("dpi", (None,))[0]
        return ocr.page_segmentation(ocr_preprocess.prepare_page(page, dpi, ocr.DEFAULT_STEPS))


def service(ctx: ExtractionContext) -> None:
    result = registry.extract(ctx)
    assert result.ocr is not None and result.ocr.pages == 1, result.warnings


def profile(name: str, ctx: ExtractionContext) -> None:
    profiler = cProfile.Profile()
    children = children_cpu()
    profiler.runcall(service, ctx)
    print(f"\n## profile: {name} (Tesseract children: {children_cpu() - children:.3f} s CPU)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"extractors|PIL|pdfium|subprocess", 22)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocr-overhead-") as tmp:
        found = pages(Path(tmp))
        print(f"load average at start: {os.getloadavg()}")
        rows = []
        for name, (ctx, image) in found.items():
            service(ctx)  # warm: imports, language data in the page cache
            sides: dict[str, Callable[[], object]] = {
                "service": lambda ctx=ctx: service(ctx),
                "psm4": lambda image=image: plain_tesseract(image, 4),
                "psm3": lambda image=image: plain_tesseract(image, None),
                "psm6": lambda image=image: plain_tesseract(image, 6),
            }
            psm = chosen_psm(image)
            times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
            for _ in range(args.runs):
                for side, action in sides.items():
                    times[side].append(measured(action))
            cpu = {side: statistics.median(c for _, c in runs) for side, runs in times.items()}
            wall = {side: statistics.median(w for w, _ in runs) for side, runs in times.items()}
            ratio_cpu, ratio_wall = cpu["service"] / cpu["psm4"], wall["service"] / wall["psm4"]
            same = cpu["service"] / cpu[f"psm{psm}"]
            rows.append(
                f"| {name} | {psm} | {cpu['service']:.3f} | {cpu['psm4']:.3f} | **{ratio_cpu:.2f}** "
                f"| {cpu['psm3']:.3f} | {cpu['psm6']:.3f} | {same:.2f} "
                f"| {wall['service']:.2f} | {wall['psm4']:.2f} | {ratio_wall:.2f} |"
            )
        print(f"load average at end: {os.getloadavg()}")
        print(f"\n| page | service psm | service CPU s | tesseract --psm 4 CPU s | ratio CPU | tesseract (psm 3) CPU s "
              f"| tesseract --psm 6 CPU s | ratio CPU, same psm | service wall s | psm 4 wall s | ratio wall "
              f"|  (median of {args.runs}, alternated)")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        if args.profile:
            for name, (ctx, _) in found.items():
                profile(name, ctx)


if __name__ == "__main__":
    main()
