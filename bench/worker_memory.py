"""Worker RSS across 1,000 mixed documents, on real processes (PostgreSQL + Redis), OCR off.

    .venv/bin/python -m bench.worker_memory --documents 1000
    .venv/bin/python -m bench.worker_memory --documents 1000 --max-tasks-per-child 0   # never recycle

One worker process with `--concurrency 1`. Documents (mostly one-page text PDFs and Korean invoice
PDFs, small workbooks, a few photos) are uploaded in batches of `--every`; after each batch has
finished, the RSS of the worker's main process plus its pool child is read from
/proc/<pid>/status (VmRSS). OCR_ENABLED=false keeps the photos fast; they still go through image
decoding, EXIF and thumbnails.

The default run keeps production's child recycling (CELERY_MAX_TASKS_PER_CHILD=200), which bounds
growth by construction; `--max-tasks-per-child 0` shows what one child accumulates without it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.pipeline_throughput import SHEETS, Files, count_done, cycled_corpus, sample_files
from bench.stacks import bench_stack
from tests.support.client import ApiClient
from tests.support.documents import korean_invoice_pdf, small_text_pdf

MIB = 1024 * 1024


def vm_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def children(pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids.extend(int(child) for child in (task / "children").read_text().split())
    return pids


def corpus(count: int) -> Files:
    """Per 20: 11 text PDFs, 3 invoice PDFs, 5 workbooks, 1 photo."""
    return cycled_corpus(
        count,
        [
            (11, [("text.pdf", small_text_pdf())]),
            (3, [("invoice.pdf", korean_invoice_pdf())]),
            (5, sample_files("sheets", SHEETS)),
            (1, sample_files("images", ("photo_gps_seoul.jpg", "photo_bad_gps.jpg"))),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--max-tasks-per-child", type=int, default=200)
    args = parser.parse_args()
    env = {"OCR_ENABLED": "false", "CELERY_MAX_TASKS_PER_CHILD": str(args.max_tasks_per_child)}
    items = corpus(args.documents)
    with bench_stack(1, **env) as stack:
        main_pid = stack.processes["worker1"].pid
        api = ApiClient(stack.base_url)
        api.register_and_login()
        samples: list[tuple[int, int, int]] = []  # (documents done, RSS bytes, pool child pid)

        def sample(done: int) -> None:
            child = children(main_pid)
            rss = vm_rss(main_pid) + sum(vm_rss(pid) for pid in child)
            samples.append((done, rss, child[0] if child else 0))
            print(f"  {done:5d} documents  RSS {rss / MIB:7.1f} MiB  child {child}", flush=True)

        sample(0)
        started = time.monotonic()
        for offset in range(0, len(items), args.every):
            batch = items[offset : offset + args.every]
            for name, content in batch:
                response = api.upload_bytes(content, name)
                assert response.status_code in (200, 201, 202), response.text
            target = offset + len(batch)
            while count_done(api) < target:
                time.sleep(0.05)
            sample(target)
        elapsed = time.monotonic() - started
        failed = int(api.get("/api/v1/documents/", params={"status": "failed", "page_size": 1}).json()["total"])
    rss = [value for _, value, _ in samples]
    # The first sample is an idle worker whose child has not imported the extractors yet, so
    # growth is measured from the first sample taken after documents ran.
    warm = rss[1]
    print(
        f"documents={args.documents} failed={failed} in {elapsed:.0f} s, "
        f"max_tasks_per_child={args.max_tasks_per_child}, "
        f"pool children seen={len({pid for _, _, pid in samples})}\n"
        f"RSS idle {rss[0] / MIB:.1f} MiB, after {args.every} docs {warm / MIB:.1f} MiB, "
        f"max {max(rss) / MIB:.1f} MiB, end {rss[-1] / MIB:.1f} MiB; "
        f"growth end - after-first-batch {(rss[-1] - warm) / MIB:+.1f} MiB, max - after-first-batch "
        f"{(max(rss[1:]) - warm) / MIB:+.1f} MiB, end - idle {(rss[-1] - rss[0]) / MIB:+.1f} MiB"
    )


if __name__ == "__main__":
    main()
