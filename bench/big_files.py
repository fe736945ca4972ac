"""Issue 18: big files within memory caps, on real processes (uvicorn, Celery workers, PostgreSQL, Redis).

    PYTHONPATH=. .venv/bin/python -m bench.big_files                 # all three files
    PYTHONPATH=. .venv/bin/python -m bench.big_files --only csv      # one of text-pdf, csv, scan-pdf

Three files, generated deterministically (cached in --cache-dir, so a second run skips the generation):

- ``text-pdf``: 300 A4 pages of Korean + English text with a ruled table on every third page and a
  photo-like figure on every page (NanumGothic embedded), ~10 MiB;
- ``csv``: 500,000 rows of date, 거래처, 품목, 수량, 금액 (UTF-8), ~28 MiB;
- ``scan-pdf``: 60 image-only A4 pages (150 dpi, as a scanner delivers them), each needing OCR.

Each file is uploaded once to a stack of uvicorn + ``--workers`` Celery workers of concurrency 1 (default 2,
as production's 2-vCPU host runs them). While it is processed, a sampler reads every ~100 ms from /proc the
RSS of every process of each worker's process group: the Celery main process, its pool child and the
tesseract processes the child starts. Per worker it reports the pool child's own peak RSS and the peak of
the group's sum ("tree"). A WebSocket client (/api/v1/ws) connected before the upload times every progress
event of the document: the largest gap between consecutive events up to ``document_completed``, and the
time from the end of the upload request to the first event (negative when the worker's first event
arrives before the HTTP response does).

Targets (issue 18 item 4): tree RSS <= 500 MiB per worker, no gap over 2 s, the result right (pages in
order, 500,000 rows counted and the amount column's total exact).

Settings the stack overrides, as an operator accepting such files would:
- MAX_UPLOAD_SIZE=64 MiB: the default 10 MiB refuses the 28 MiB CSV (and a 10 MiB PDF sits on the edge);
- nothing else: MAX_SPREADSHEET_CELLS (2,000,000) keeps 400,000 of the CSV's 500,000 rows in the result
  with a CELL_LIMIT warning while the column summaries still cover every row, MAX_PDF_PAGES (500) admits
  300 pages, and page fan-out (PAGE_FANOUT_THRESHOLD 8, chunk 4) splits both PDFs over the workers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import websockets

from bench.stacks import bench_stack
from tests.support.client import ApiClient
from tests.support.documents import DEJAVU_SANS, NANUM_GOTHIC, small_text_pdf
from tests.support.stack import Stack

MIB = 1024 * 1024
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
TEXT_PAGES = 300
CSV_ROWS = 500_000
SCAN_PAGES = 60
RSS_TARGET_MIB = 500
GAP_TARGET_S = 2.0
FIGURE = (260, 190)  # pixels of the figure on each text page
FIGURE_GRAIN = 0.3  # how much noise it has: what brings the 300 pages to ~10 MiB
GENERATOR_VERSION = 1  # bump when a generator changes, so cached files are made again

# --- the files -----------------------------------------------------------------------------------

COMPANIES = [
    "주식회사 한빛상사", "㈜대한물산", "세종테크 주식회사", "(주)미래로지스", "한결무역", "동해식품 주식회사",
    "㈜서울정밀", "가온전자", "누리소프트 주식회사", "㈜바른건설", "Acme Korea Ltd.", "Hanil Steel Co., Ltd.",
]  # fmt: skip
ITEMS = [
    "사무용 의자", "모니터 27인치", "A4 복사용지", "노트북 거치대", "무선 키보드", "프린터 토너", "외장 SSD 1TB",
    "LED 스탠드", "회의용 테이블", "USB-C 허브", "Cable ties", "Safety gloves", "Label printer",
]  # fmt: skip
KOREAN_SENTENCES = [
    "본 보고서는 2025년 회계연도 공급망 운영 현황을 요약한 것이다.",
    "각 거래처별 납품 실적과 미지급 잔액을 분기 단위로 정리하였다.",
    "물류 센터의 재고 회전율은 전년 대비 소폭 개선되었다.",
    "계약 조건에 따라 대금은 세금계산서 발행일로부터 30일 이내에 지급한다.",
    "품질 검사에서 불합격 판정을 받은 품목은 반품 처리되었다.",
    "신규 협력사 등록 절차는 구매팀 승인 후 전산에 반영된다.",
    "환율 변동에 따른 수입 원가 상승분은 별도 항목으로 관리한다.",
    "공급가액과 부가세는 각각 원 단위로 절사하여 표기한다.",
]  # fmt: skip
ENGLISH_SENTENCES = [
    "This section summarises deliveries, open balances and quality findings for the quarter.",
    "Payment terms are net thirty days from the tax invoice date unless agreed otherwise.",
    "Inventory turnover at the Incheon distribution centre improved slightly year on year.",
    "Rejected lots were returned to the supplier and credited on the following statement.",
    "Freight costs are allocated to each order in proportion to its declared weight.",
    "All amounts are in Korean won and exclude value added tax unless stated.",
]  # fmt: skip


def text_pdf(pages: int = TEXT_PAGES) -> bytes:
    """A4 pages of Korean + English text; a ruled table every third page; a photo-like figure on every page.
    Each page starts with the line "PAGE-nnn" so the order of the extracted pages can be checked."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "BenchKorean" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("BenchKorean", str(NANUM_GOTHIC)))
    rng = random.Random(18)
    gradient = Image.linear_gradient("L").resize(FIGURE).convert("RGB")
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    pdf.setTitle("2025 공급망 운영 보고서 / Supply chain report")
    width, height = A4
    for number in range(1, pages + 1):
        pdf.setFont("BenchKorean", 14)
        pdf.drawString(50, height - 50, f"PAGE-{number:03d}  제{number}절 거래 현황 / Section {number}")
        # A figure: a smooth gradient with grain, as a photo or a chart screenshot compresses.
        grain = Image.frombytes("RGB", FIGURE, rng.randbytes(FIGURE[0] * FIGURE[1] * 3))
        figure = io.BytesIO()
        Image.blend(gradient, grain, FIGURE_GRAIN).save(figure, "JPEG", quality=88)
        pdf.drawImage(ImageReader(io.BytesIO(figure.getvalue())), width - 230, height - 230, 180, 130)
        pdf.setFont("BenchKorean", 9.5)
        y = height - 80
        lines = 40 if number % 3 else 22
        for line in range(lines):
            sentence = rng.choice(KOREAN_SENTENCES if line % 2 else ENGLISH_SENTENCES)
            amount = rng.randrange(10_000, 90_000_000)
            text = f"{sentence} ({rng.choice(COMPANIES)}, {amount:,}원)"
            pdf.drawString(50, y, text[:70] if y > height - 240 else text[:105])
            y -= 15
        if number % 3 == 0:
            _draw_table(pdf, rng, 50, y - 10)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _draw_table(pdf: Any, rng: random.Random, left: float, top: float) -> None:
    widths = [150, 150, 60, 100]
    rows = [["품목", "거래처", "수량", "금액"]]
    for _ in range(12):
        quantity = rng.randrange(1, 200)
        rows.append([rng.choice(ITEMS), rng.choice(COMPANIES)[:12], str(quantity), f"{quantity * 12_500:,}"])
    row_height = 16
    right = left + sum(widths)
    for index, row in enumerate(rows):
        y = top - index * row_height
        pdf.line(left, y, right, y)
        x = left
        for cell, cell_width in zip(row, widths, strict=True):
            pdf.drawString(x + 3, y - 12, cell)
            x += cell_width
    bottom = top - len(rows) * row_height
    pdf.line(left, bottom, right, bottom)
    x = left
    for cell_width in [0, *widths]:
        x += cell_width
        pdf.line(x, top, x, bottom)


@dataclass
class CsvFacts:
    rows: int
    quantity_total: int
    amount_total: int


def big_csv(rows: int = CSV_ROWS) -> tuple[bytes, CsvFacts]:
    """date, 거래처, 품목, 수량, 금액: a year of sales lines, UTF-8 without BOM, header first."""
    rng = random.Random(500)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "거래처", "품목", "수량", "금액"])
    start = date(2025, 1, 1)
    quantity_total = amount_total = 0
    for index in range(rows):
        quantity = rng.randrange(1, 500)
        amount = quantity * rng.randrange(1_000, 250_000, 10)
        quantity_total += quantity
        amount_total += amount
        day = start + timedelta(days=index * 365 // rows)
        writer.writerow([day.isoformat(), rng.choice(COMPANIES), rng.choice(ITEMS), quantity, amount])
    return out.getvalue().encode("utf-8"), CsvFacts(rows, quantity_total, amount_total)


def scan_pdf(pages: int = SCAN_PAGES) -> bytes:
    """Image-only A4 pages at 150 dpi: "PAGE nn" in large type and ten lines of English body text."""
    from PIL import Image, ImageDraw, ImageFont

    big = ImageFont.truetype(str(DEJAVU_SANS), 56)
    body = ImageFont.truetype(str(DEJAVU_SANS), 26)
    rng = random.Random(60)
    images = []
    for number in range(1, pages + 1):
        image = Image.new("L", (1240, 1754), 255)
        draw = ImageDraw.Draw(image)
        draw.text((100, 120), f"PAGE {number}", font=big, fill=0)
        for line in range(10):
            draw.text((100, 260 + line * 60), rng.choice(ENGLISH_SENTENCES)[:70], font=body, fill=0)
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=150, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def cached(cache_dir: Path, name: str, make: Any) -> bytes:
    path = cache_dir / f"v{GENERATOR_VERSION}-{name}"
    if path.exists():
        return path.read_bytes()
    started = time.perf_counter()
    content = make()
    cache_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    print(f"  generated {name}: {len(content) / MIB:.1f} MiB in {time.perf_counter() - started:.0f} s", flush=True)
    return content


# --- measuring -----------------------------------------------------------------------------------


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    """Proportional set size: shared pages (the pool child's copy-on-write pages it still shares with the
    main process) counted once across the processes that share them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                with contextlib.suppress(OSError):
                    for child in (task / "children").read_text().split():
                        found.append(int(child))
                        stack.append(int(child))
    return found


@dataclass
class WorkerPeak:
    main: int = 0  # the Celery main process
    own: int = 0  # its pool child (the process that runs the tasks), alone
    tree: int = 0  # main + pool child + tesseract and any other descendant, summed
    tree_pss: int = 0  # the same processes' PSS summed: shared pages counted once
    tree_at: float = 0.0  # when the tree peak was sampled (time.monotonic())
    samples: int = 0


class RssSampler:
    """Every `interval` s, the RSS of each worker's process tree, read from /proc."""

    def __init__(self, workers: dict[str, int], interval: float = 0.1, *, pss: bool = True) -> None:
        self.workers = workers
        self.pss = pss
        self.interval = interval
        self.peaks = {name: WorkerPeak() for name in workers}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.workers.items():
                peak = self.peaks[name]
                children = _descendants(pid)
                main = _rss(pid)
                # The pool child is the main process's direct child; tesseract runs below it.
                direct = [int(c) for task in _tasks(pid) for c in _children_of(task)]
                own = max((_rss(child) for child in direct), default=0)
                tree = main + sum(_rss(child) for child in children)
                if tree > peak.tree:
                    peak.tree_at = time.monotonic()
                peak.main, peak.own, peak.tree = max(peak.main, main), max(peak.own, own), max(peak.tree, tree)
                if self.pss:
                    pss = _pss(pid) + sum(_pss(child) for child in children)
                    peak.tree_pss = max(peak.tree_pss, pss)
                peak.samples += 1
            self._stop.wait(self.interval)


def _tasks(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def _children_of(task: Path) -> list[str]:
    try:
        return (task / "children").read_text().split()
    except OSError:
        return []


@dataclass
class EventLog:
    """Every WebSocket message, with the monotonic time it arrived."""

    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    error: BaseException | None = None

    def for_document(self, document_id: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, m) for t, m in list(self.messages) if m.get("document_id") == document_id]

    def final(self, document_id: str) -> dict[str, Any] | None:
        for _, message in self.for_document(document_id):
            if message.get("type") in ("document_completed", "document_failed"):
                return message
        return None


@contextlib.contextmanager
def listening(base_url: str, token: str) -> Iterator[EventLog]:
    log = EventLog()
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def listen() -> None:
        url = base_url.replace("http://", "ws://") + f"/api/v1/ws?token={token}"
        try:
            async with websockets.connect(url, max_size=None) as ws:
                ready.set()
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    log.messages.append((time.monotonic(), json.loads(raw)))
        except BaseException as exc:  # surfaced by the caller
            log.error = exc
            ready.set()

    thread = threading.Thread(target=lambda: loop.run_until_complete(listen()), daemon=True)
    thread.start()
    ready.wait(30)
    if log.error:
        raise log.error
    time.sleep(0.3)  # the snapshot message
    try:
        yield log
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


@dataclass
class Measured:
    name: str
    size: int
    units: str
    wall: float = 0.0
    upload: float = 0.0
    first_event: float = 0.0  # the API's own "queued" event, sent with the upload's response
    first_worker_event: float = 0.0  # the first event a worker sent ("Processing started")
    max_gap: float = 0.0
    gap_at: str = ""
    events: int = 0
    peaks: dict[str, WorkerPeak] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    peak_stages: dict[str, str] = field(default_factory=dict)  # per worker: when its tree peaked, in which stage
    heartbeats: int = 0  # events marked "heartbeat": broadcast only, repeating the last stored one
    max_stored_gap: float = 0.0  # the largest gap counting only stored events (heartbeats left out)
    ok: bool = True


def process(stack: Stack, api: ApiClient, content: bytes, filename: str, measured: Measured) -> dict[str, Any]:
    workers = {name: proc.pid for name, proc in stack.processes.items() if name.startswith("worker")}
    with listening(stack.base_url, api.token or "") as log, RssSampler(workers) as sampler:
        started = time.monotonic()
        response = api.post(
            "/api/v1/documents/upload", files={"file": (filename, content)}, timeout=300
        )  # a 28 MiB body on a busy host
        uploaded = time.monotonic()
        assert response.status_code in (200, 201, 202), response.text
        document_id = response.json()["data"]["id"]
        deadline = time.monotonic() + 1200
        while log.final(document_id) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{filename}: no final event; last {log.for_document(document_id)[-1:]}")
            time.sleep(0.05)
        completed = time.monotonic()
    events = [(t, m) for t, m in log.for_document(document_id) if str(m.get("type", "")).startswith("document_")]
    measured.wall = completed - started
    measured.upload = uploaded - started
    measured.events = len(events)
    measured.first_event = events[0][0] - uploaded
    measured.first_worker_event = next((t for t, m in events if m.get("stage") != "queued"), completed) - uploaded
    times = [max(uploaded, events[0][0]), *[t for t, _ in events]]
    gaps = [(later - earlier, message) for earlier, (later, message) in zip(times, events, strict=False)]
    gap, message = max(gaps, key=lambda item: item[0])
    measured.max_gap = gap
    measured.gap_at = (
        f"before {message.get('type')} {message.get('stage')} {message.get('progress')}% {message.get('message')!r}"
    )
    measured.peaks = sampler.peaks
    for name, peak in sampler.peaks.items():
        before = [m for t, m in events if t <= peak.tree_at and not m.get("heartbeat")]
        stage = f"{before[-1].get('stage')} {before[-1].get('progress')}%" if before else "before the first event"
        measured.peak_stages[name] = f"{peak.tree_at - uploaded:+.1f} s ({stage})"
    measured.timeline = [
        f"{t - uploaded:+.2f} {m.get('stage')} {m.get('progress', '')}% {m.get('message', '')}"
        + ("  (heartbeat)" if m.get("heartbeat") else "")
        for t, m in events
    ]
    stored = [t for t, m in events if not m.get("heartbeat")]
    measured.heartbeats = len(events) - len(stored)
    measured.max_stored_gap = max((b - a for a, b in zip([times[0], *stored], stored, strict=False)), default=0.0)
    final = log.final(document_id) or {}
    if final.get("type") != "document_completed":
        measured.ok = False
        measured.checks.append(f"FAILED: {final.get('error_code')} {final.get('message')}")
        return {}
    return api.extracted(document_id)


def check_text_pdf(result: dict[str, Any], measured: Measured) -> None:
    pdf = result["pdf"]
    markers = [re.search(r"PAGE-(\d{3})", page["text"]) for page in pdf["pages"]]
    numbers = [int(m.group(1)) if m else None for m in markers]
    in_order = numbers == list(range(1, TEXT_PAGES + 1))
    korean = sum("거래" in page["text"] for page in pdf["pages"])
    measured.checks.append(
        f"page_count {pdf['page_count']}, pages {len(pdf['pages'])} in order: {in_order}, with Korean text: "
        f"{korean}, tables {len(pdf['tables'])} (drawn {TEXT_PAGES // 3})"
    )
    measured.ok &= pdf["page_count"] == TEXT_PAGES and in_order and korean == TEXT_PAGES


def check_csv(result: dict[str, Any], measured: Measured, facts: CsvFacts) -> None:
    sheet = result["spreadsheet"]["sheets"][0]
    columns = {column["header"]: column for column in sheet["columns"]}
    amount, quantity = columns.get("금액", {}), columns.get("수량", {})
    warnings = sorted({w["code"] for w in result.get("warnings", [])})
    kept = len(sheet["rows"])
    measured.checks.append(
        f"row_count {sheet['row_count']} (header + {facts.rows}), rows kept {kept}, 금액 count {amount.get('count')}"
        f" sum {amount.get('sum'):,.0f} (expected {facts.amount_total:,}), 수량 sum {quantity.get('sum'):,.0f}"
        f" (expected {facts.quantity_total:,}), warnings {warnings}"
    )
    measured.ok &= (
        sheet["row_count"] == facts.rows + 1
        and amount.get("count") == facts.rows
        and amount.get("sum") == facts.amount_total
        and quantity.get("sum") == facts.quantity_total
    )


def check_scan_pdf(result: dict[str, Any], measured: Measured) -> None:
    pdf = result["pdf"]
    found = [re.search(r"PAGE\s*(\d+)", page["text"]) for page in pdf["pages"]]
    numbers = [int(m.group(1)) if m else None for m in found]
    right = sum(number == index for index, number in enumerate(numbers, 1))
    ocr_pages = sum(page.get("text_source") == "ocr" for page in pdf["pages"])
    misread = [(index, number) for index, number in enumerate(numbers, 1) if number != index]
    measured.checks.append(
        f"page_count {pdf['page_count']}, OCR'd pages {ocr_pages}, 'PAGE n' read at its place on {right} of "
        f"{SCAN_PAGES}" + (f"; misread (page, read as) {misread}" if misread else "")
    )
    # OCR may misread a digit; order is what must hold (a merge that shuffled parts would fail most pages).
    measured.ok &= pdf["page_count"] == SCAN_PAGES and ocr_pages == SCAN_PAGES and right >= SCAN_PAGES - 2


# --- the stack and the run -----------------------------------------------------------------------


def report(measured: list[Measured], workers: int, *, timeline: bool) -> None:
    print()
    print("| file | size MiB | pages/rows | wall s | upload s | worker peak RSS own / tree MiB (per worker) "
          "| max event gap s | first event s (worker's) | events | result |")  # fmt: skip
    print("|---|---:|---|---:|---:|---|---:|---:|---:|---|")
    for m in measured:
        peaks = ", ".join(f"{p.own / MIB:.0f} / {p.tree / MIB:.0f}" for p in m.peaks.values())
        print(
            f"| {m.name} | {m.size / MIB:.1f} | {m.units} | {m.wall:.1f} | {m.upload:.1f} | {peaks} | "
            f"{m.max_gap:.2f} | {m.first_event:+.2f} ({m.first_worker_event:+.2f}) | {m.events} | "
            f"{'right' if m.ok else 'WRONG'} |"
        )
    print()
    for m in measured:
        tree = max((p.tree for p in m.peaks.values()), default=0) / MIB
        main = ", ".join(f"{p.main / MIB:.0f}" for p in m.peaks.values())
        pss = ", ".join(f"{p.tree_pss / MIB:.0f}" for p in m.peaks.values())
        samples = ", ".join(str(p.samples) for p in m.peaks.values())
        verdict = [
            f"tree RSS {'<=' if tree <= RSS_TARGET_MIB else 'OVER'} {RSS_TARGET_MIB} MiB",
            f"gap {'<=' if m.max_gap <= GAP_TARGET_S else 'OVER'} {GAP_TARGET_S} s",
        ]
        print(
            f"{m.name}: {'; '.join(verdict)}; main process RSS {main} MiB; tree PSS peak {pss} MiB;"
            f" RSS samples {samples}"
        )
        print(f"  largest gap {m.max_gap:.2f} s {m.gap_at}")
        print("  tree peak at " + ", ".join(f"{name} {when}" for name, when in m.peak_stages.items()))
        print(
            f"  events {m.events}, of them heartbeats {m.heartbeats}; largest gap between stored events"
            f" (heartbeats left out) {m.max_stored_gap:.2f} s"
        )
        for line in m.checks:
            print(f"  {line}")
        if timeline:
            print("  events (s after the upload returned):")
            for line in m.timeline:
                print(f"    {line}")
    print(f"\nworkers: {workers} Celery processes of concurrency 1; cpus: {os.cpu_count()}; "
          f"load average now: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["text-pdf", "csv", "scan-pdf"], action="append")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "docproc-bench-big-files")
    parser.add_argument("--timeline", action="store_true", help="print every progress event's time")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="another stack setting")
    args = parser.parse_args()
    chosen = args.only or ["text-pdf", "csv", "scan-pdf"]
    overrides = dict(item.split("=", 1) for item in args.set)
    files: dict[str, tuple[bytes, str, str]] = {}
    facts = CsvFacts(0, 0, 0)
    if "text-pdf" in chosen:
        files["text-pdf"] = (cached(args.cache_dir, "text.pdf", text_pdf), "보고서-300쪽.pdf", f"{TEXT_PAGES} pages")
    if "csv" in chosen:
        content = cached(args.cache_dir, "sales.csv", lambda: big_csv()[0])
        facts = _csv_facts(content)
        files["csv"] = (content, "매출-50만행.csv", f"{CSV_ROWS:,} rows")
    if "scan-pdf" in chosen:
        files["scan-pdf"] = (cached(args.cache_dir, "scan.pdf", scan_pdf), "scan-60p.pdf", f"{SCAN_PAGES} pages")
    results: list[Measured] = []
    # The 28 MiB CSV is above the 10 MiB default upload limit: an operator taking data exports raises it.
    with bench_stack(args.workers, **{"MAX_UPLOAD_SIZE": str(64 * MIB), **overrides}) as stack:
        api = ApiClient(stack.base_url)
        api.register_and_login()
        # Warm the workers' imports (small text PDFs and CSVs, two of each so both workers likely get one)
        # so the first big file is not charged with them.
        warm = [("warm.csv", b"a,b\n1,2\n"), ("warm.pdf", small_text_pdf())] * 2
        for document_id in [api.upload_bytes(data, name).json()["data"]["id"] for name, data in warm]:
            api.wait_for(document_id, timeout=120)
        for name, (content, filename, units) in files.items():
            load = os.getloadavg()[0]
            print(f"{name}: {len(content) / MIB:.1f} MiB, {units} (load average before: {load:.2f}) ...", flush=True)
            measured = Measured(name, len(content), units)
            result = process(stack, api, content, filename, measured)
            if result:
                {"text-pdf": check_text_pdf, "scan-pdf": check_scan_pdf}.get(name, lambda r, m: check_csv(r, m, facts))(
                    result, measured
                )
            results.append(measured)
            print(f"  done in {measured.wall:.1f} s", flush=True)
    report(results, args.workers, timeline=args.timeline)


def _csv_facts(content: bytes) -> CsvFacts:
    reader = csv.reader(io.StringIO(content.decode("utf-8")))
    next(reader)
    rows = quantity = amount = 0
    for record in reader:
        rows += 1
        quantity += int(record[3])
        amount += int(record[4])
    return CsvFacts(rows, quantity, amount)


if __name__ == "__main__":
    main()
