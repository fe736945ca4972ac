"""Issue 18: time to `completed` of a 24-page scanned PDF, one worker process against two, with page fan-out.

    .venv/bin/python -m bench.page_fanout --rounds 3

Three stacks run side by side on PostgreSQL + Redis (each its own database and queue), so the runs can
alternate between them in every round:

- ``single``: one worker process, fan-out off (PAGE_FANOUT_THRESHOLD=0): today's one task per document;
- ``parts-1``: one worker process, fan-out on: the parts run one after another (the fan-out's overhead);
- ``parts-2``: two worker processes (two Celery workers of concurrency 1), fan-out on.

Fan-out is PAGE_FANOUT_THRESHOLD=8, PAGE_FANOUT_CHUNK=3 (8 parts of 3 pages). Prints the median over the
rounds of the client-observed upload-to-completed time, and the projection to 8 worker processes from
the measured per-page cost and fixed overhead: with p the cost of a page and O the fan-out's fixed
cost, parts-1 = O + 24p and parts-2 = O + 24p/2, so 24p = 2 (parts-1 - parts-2) and
T(8) = O + 24p/8 (8 parts, one per process). The machine's load average is printed with each round.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from pathlib import Path

from bench.stacks import bench_stack
from tests.support.client import ApiClient
from tests.support.documents import scanned_pages_pdf
from tests.support.stack import Stack

PAGES = 24
WORDS = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET", "KILO", "LIMA"]
CONFIGS = {"single": (1, 0), "parts-1": (1, 8), "parts-2": (2, 8)}  # worker processes, threshold


def page_words() -> list[str]:
    return [f"PAGE {n} {WORDS[n % len(WORDS)]} {WORDS[(n * 5) % len(WORDS)]}" for n in range(1, PAGES + 1)]


def stack_for(workers: int, threshold: int) -> contextlib.AbstractContextManager[Stack]:
    return bench_stack(workers, PAGE_FANOUT_THRESHOLD=str(threshold), PAGE_FANOUT_CHUNK="3", OCR_LANGUAGES="eng")


def workers_cpu_seconds(stack: Stack) -> float:
    """User + system CPU of the stack's worker processes (each its own session: main and pool processes),
    with the tesseract children they have reaped; the busy machine's other load is not in it."""
    groups = {proc.pid for name, proc in stack.processes.items() if name.startswith("worker")}
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) in groups:  # field 5, pgrp
                ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def time_to_completed(
    stack: Stack, api: ApiClient, pdf: bytes, name: str, expected_pages: list[str] | None
) -> tuple[float, float]:
    """Wall seconds from upload to completed, and the worker CPU seconds it cost."""
    cpu_before = workers_cpu_seconds(stack)
    started = time.perf_counter()
    document_id = api.upload_bytes(pdf, name).json()["data"]["id"]
    done = api.wait_for(document_id, timeout=900)
    elapsed = time.perf_counter() - started
    cpu = workers_cpu_seconds(stack) - cpu_before
    assert done["status"] == "completed", done
    pages = api.extracted(document_id)["pdf"]["pages"]
    if expected_pages is None:
        assert [page["number"] for page in pages] == list(range(1, len(pages) + 1)), "pages out of order"
    else:
        assert [page["text"] for page in pages] == expected_pages, "pages out of order or misread"
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pdf", type=Path, help="another PDF instead of the 24-page scan (e.g. a text PDF: what fan-out costs it)"
    )
    args = parser.parse_args()
    pdf = args.pdf.read_bytes() if args.pdf else scanned_pages_pdf(page_words())
    expected_pages = None if args.pdf else page_words()
    page_total = PAGES
    if args.pdf:
        from pypdf import PdfReader

        page_total = len(PdfReader(args.pdf).pages)
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    cpu: dict[str, list[float]] = {name: [] for name in CONFIGS}
    with contextlib.ExitStack() as stacks:
        clients: dict[str, tuple[Stack, ApiClient]] = {}
        for name, (workers, threshold) in CONFIGS.items():
            stack = stacks.enter_context(stack_for(workers, threshold))
            api = ApiClient(stack.base_url)
            api.register_and_login()
            api.wait_for(api.upload_bytes(scanned_pages_pdf(["WARM UP"]), "warmup.pdf").json()["data"]["id"])
            clients[name] = (stack, api)
        for round_number in range(1, args.rounds + 1):
            order = list(CONFIGS) if round_number % 2 else list(reversed(CONFIGS))
            for name in order:
                load = os.getloadavg()[0]
                seconds, cpu_seconds = time_to_completed(
                    *clients[name], pdf, f"scan-{round_number}.pdf", expected_pages
                )
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
                print(
                    f"round {round_number} {name:8} {seconds:7.2f} s  worker CPU {cpu_seconds:6.2f} s"
                    f"  (load average before: {load:.2f})",
                    flush=True,
                )
    median = {name: statistics.median(values) for name, values in times.items()}
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    all_pages = 2 * (median["parts-1"] - median["parts-2"])
    overhead = median["parts-1"] - all_pages
    print()
    for name in CONFIGS:
        print(f"{name:8} median {median[name]:7.2f} s  runs {', '.join(f'{v:.2f}' for v in times[name])}")
    print(f"parts-2 / single = {median['parts-2'] / median['single']:.2f} (target <= 0.60)")
    projected = overhead + all_pages / 8
    print(f"per page {all_pages / page_total:.2f} s, fixed {overhead:.2f} s -> 8 processes ~ {projected:.2f} s")
    cpu_page = cpu_median["single"] / page_total
    cpu_overhead = cpu_median["parts-2"] - cpu_median["single"]
    print(
        f"worker CPU median: single {cpu_median['single']:.2f} s, parts-1 {cpu_median['parts-1']:.2f} s,"
        f" parts-2 {cpu_median['parts-2']:.2f} s; fan-out costs {cpu_overhead:.2f} s CPU per document;"
        f" with 8 free cores ~ {cpu_page * page_total / 8 + cpu_overhead:.2f} s of CPU on the longest path"
    )
    print(f"load average now: {' '.join(f'{v:.2f}' for v in os.getloadavg())}, cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()
