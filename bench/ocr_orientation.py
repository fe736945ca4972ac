"""OCR of turned, skewed and low-resolution scans: character accuracy and seconds per variant, and the
cost of the orientation check on upright pages.

    .venv/bin/python -m bench.ocr_orientation [--runs 3] [--only upright rot90 ...]

The page is the generated Korean/English invoice (tests/samples/scan_variants.py, NanumGothic at
300 dpi); variants: upright, turned 90/180/270, skewed +5/-5 degrees, scanned at 150 dpi. Accuracy is
1 - normalised Levenshtein distance to the printed text (deterministic: same on every run); time is
the median of ``--runs`` runs of ``ocr.recognise`` (preprocessing included, one Tesseract thread).

Upright throughput: the same upright page read with the default steps ("after") and without the
``orient`` step ("before": what a page cost before orientation correction existed), runs interleaved.
Also the garbled-text-layer check on every page of tests/samples/pdf/twenty_pages.pdf (us/page).
"""

from __future__ import annotations

import argparse
import statistics
import time

from fastapi_app.extractors import ocr
from tests.samples.scan_variants import VARIANTS, variant
from tests.support.ocr_quality import character_accuracy
from tests.support.stack import ROOT


def timed(name: str, steps: frozenset[str] = ocr.DEFAULT_STEPS) -> tuple[float, float, ocr.OcrPageResult]:
    page, dpi = variant(name)
    started = time.perf_counter()
    result = ocr.recognise(page, "kor+eng", source_dpi=dpi, steps=steps)
    return time.perf_counter() - started, character_accuracy(result.text), result


def garbled_check_us_per_page() -> float:
    import pypdfium2 as pdfium

    from fastapi_app.extractors.pdf.garbled import garbled_reason

    doc = pdfium.PdfDocument(ROOT / "tests" / "samples" / "pdf" / "twenty_pages.pdf")
    pages = [doc[i] for i in range(len(doc))]
    raws = [(textpage, textpage.get_text_range()) for textpage in (page.get_textpage() for page in pages)]
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        for textpage, raw in raws:
            assert garbled_reason(raw, textpage) is None
    return (time.perf_counter() - started) / (rounds * len(raws)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    args = parser.parse_args()

    print(f"| variant | accuracy | vs upright | median s (min-max), {args.runs} runs | confidence | turn | steps |")
    print("|---|---|---|---|---|---|---|")
    upright_accuracy = None
    for name in args.only:
        times, accuracy, result = [], 0.0, None
        for _ in range(args.runs):
            seconds, accuracy, result = timed(name)
            times.append(seconds)
        assert result is not None
        if name == "upright":
            upright_accuracy = accuracy
        delta = f"{(accuracy - upright_accuracy) * 100:+.2f} pt" if upright_accuracy is not None else ""
        print(
            f"| {name} | {accuracy * 100:.2f} % | {delta} | {statistics.median(times):.2f} "
            f"({min(times):.2f}-{max(times):.2f}) | {result.confidence} | {result.orientation_degrees} "
            f"| {', '.join(result.preprocessing)} |",
            flush=True,
        )

    before: list[float] = []
    after: list[float] = []
    for _ in range(args.runs):
        before.append(timed("upright", ocr.DEFAULT_STEPS - {"orient"})[0])
        after.append(timed("upright")[0])
    b, a = statistics.median(before), statistics.median(after)
    print()
    print("| upright page, interleaved | median s/page | min-max | pages/min |")
    print("|---|---|---|---|")
    print(f"| before (no orientation step) | {b:.2f} | {min(before):.2f}-{max(before):.2f} | {60 / b:.1f} |")
    print(f"| after (default steps) | {a:.2f} | {min(after):.2f}-{max(after):.2f} | {60 / a:.1f} |")
    print(f"| change | {(a / b - 1) * 100:+.1f} % | | |")
    print()
    print(f"garbled-text-layer check, text-layer pages of twenty_pages.pdf: {garbled_check_us_per_page():.1f} us/page")


if __name__ == "__main__":
    main()
