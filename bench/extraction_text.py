"""Whole-PDF extraction (text, table detection, key values, entities) on text-only pages.

    .venv/bin/python -m bench.extraction_text [--pages 400] [--runs 5]

Builds a 400-page Korean/English text-only PDF (invoice and contract prose, ~2,000 characters a
page, dense with dates, amounts, phone and business numbers), then times `extract_document` (what
the worker runs) on one core, against `pdftotext` on the same file as the baseline. Prints pages/s,
median of runs with min-max.
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

PARAGRAPHS = [
    '본 계약은 주식회사 한빛상사(이하 "공급자")와 주식회사 바다물산(이하 "구매자") 사이에 체결된다.',
    "송장번호: INV-2026-{n:04d}   발행일: 2026년 3월 {d}일   담당자: 010-1234-{n:04d}",
    "공급자 사업자등록번호는 220-81-62517 이며, 문의는 sales@hanbit.co.kr 또는 02-123-4567 로 한다.",
    "The buyer shall pay the total amount of 1,{n:03d},000 KRW by March {d}, 2026 to the account below.",
    "Invoice Number 4218{n:04d} covers office chairs, monitors and related services for the first quarter.",
    "합계 금액 {n},100,000원 (부가세 포함). 지급기한: 2026-04-{d:02d}. 자세한 내용은 https://www.hanbit.co.kr 참조.",
    "Late payments accrue interest of 1.5% per month; disputes are settled by the Seoul Central District Court.",
]


def build_corpus(pages: int, target: Path) -> Path:
    """A text-only Korean/English document (no tables): contracts and invoices as prose."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(TTFont("BenchKorean", "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"))
    style = ParagraphStyle("b", fontName="BenchKorean", fontSize=10, leading=15, wordWrap="CJK", spaceAfter=6)
    story: list[object] = []
    for page in range(pages):
        for repeat in range(2):
            for template in PARAGRAPHS:
                story.append(Paragraph(template.format(n=page + repeat, d=1 + (page + repeat) % 28), style))
        story.append(PageBreak())
    SimpleDocTemplate(str(target), pagesize=A4, invariant=1).build(story)
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
