"""Documents per minute through the whole pipeline, on real processes (PostgreSQL + Redis).

    .venv/bin/python -m bench.pipeline_throughput --runs 3

For each corpus ("text": one-page text PDFs; "mixed": text PDFs, Korean invoice PDFs, the sample
workbooks and a few scans that need OCR) and each worker count (1, then 2 worker processes, each
`--concurrency 1`), a fresh stack is started, every document is uploaded up front by a few client
threads, and the run ends when all are completed or failed.

    throughput = documents / (last completed_at - first upload start)

Per-document latency is upload start (client clock) -> completed_at (server clock, same host).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from bench.stacks import bench_stack
from tests.support.client import ApiClient
from tests.support.documents import korean_invoice_pdf, small_text_pdf
from tests.support.stack import ROOT, Stack

SAMPLES = ROOT / "tests" / "samples"
UPLOAD_THREADS = 4


@dataclass
class RunResult:
    documents: int
    failed: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_minute(self) -> float:
        return self.documents / self.seconds * 60

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 0.5)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


Files = list[tuple[str, bytes]]
SHEETS = ("invoice_kv.xlsx", "sales_multisheet.xlsx", "date1904.xlsx")


def sample_files(folder: str, names: tuple[str, ...]) -> Files:
    return [(name, (SAMPLES / folder / name).read_bytes()) for name in names]


def cycled_corpus(count: int, cycle: list[tuple[int, Files]]) -> Files:
    """`count` documents repeating a cycle of slots: each (slots, files) entry fills that many slots of
    the cycle, taking its files in turn, so no stretch of the queue is all one kind."""
    period = sum(slots for slots, _ in cycle)
    taken = [0] * len(cycle)
    items: Files = []
    for index in range(count):
        slot = index % period
        for entry, (slots, files) in enumerate(cycle):
            if slot < slots:
                name, content = files[taken[entry] % len(files)]
                taken[entry] += 1
                items.append((f"{index}-{name}", content))
                break
            slot -= slots
    return items


def text_corpus(count: int) -> Files:
    return cycled_corpus(count, [(1, [("text.pdf", small_text_pdf())])])


def mixed_corpus(count: int, ocr_images: int, image_names: tuple[str, ...]) -> Files:
    """Per 20: 12 one-page text PDFs, 3 Korean invoice PDFs (tables), 5 workbooks; plus `ocr_images`
    images spread evenly through the queue."""
    items = cycled_corpus(
        count - ocr_images,
        [
            (12, [("text.pdf", small_text_pdf())]),
            (3, [("invoice.pdf", korean_invoice_pdf())]),
            (5, sample_files("sheets", SHEETS)),
        ],
    )
    images = sample_files("images", image_names)
    step = max(1, len(items) // max(ocr_images, 1))
    for index in range(ocr_images):
        name, content = images[index % len(images)]
        items.insert(min(len(items), step * index + step // 2), (f"ocr{index}-{name}", content))
    return items


def upload_all(stack: Stack, token: str, corpus: list[tuple[str, bytes]]) -> dict[str, float]:
    """document id -> client wall-clock time its upload started."""
    started: dict[str, float] = {}
    # httpx.Client is thread-safe and pools one connection per concurrent request.
    client = ApiClient(stack.base_url, token)

    def upload(index: int) -> tuple[str, float]:
        name, content = corpus[index]
        before = time.time()
        response = client.upload_bytes(content, name)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()["data"]["id"], before

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        for document_id, before in pool.map(upload, range(len(corpus))):
            started[document_id] = before
    return started


def count_done(api: ApiClient) -> int:
    total = 0
    for status in ("completed", "failed"):
        response = api.get("/api/v1/documents/", params={"status": status, "page_size": 1})
        total += int(response.json()["total"])
    return total


def all_documents(api: ApiClient) -> list[dict[str, object]]:
    documents: list[dict[str, object]] = []
    page = 1
    while True:
        body = api.get("/api/v1/documents/", params={"page": page, "page_size": 100}).json()
        documents.extend(body["data"])
        if page >= body["total_pages"]:
            return documents
        page += 1


def measure(stack: Stack, corpus: list[tuple[str, bytes]], timeout_s: float = 600) -> RunResult:
    api = ApiClient(stack.base_url)
    api.register_and_login()
    assert api.token is not None
    # Warm-up on a separate account, so imports and pools in every worker are not counted.
    warm = ApiClient(stack.base_url)
    warm.register_and_login()
    for document_id in [warm.upload_bytes(small_text_pdf(), f"warm-{i}.pdf").json()["data"]["id"] for i in range(4)]:
        warm.wait_for(document_id)
    started = upload_all(stack, api.token, corpus)
    deadline = time.monotonic() + timeout_s
    # Polling the two counts every 100 ms costs the API far less than one GET per document.
    while count_done(api) < len(corpus):
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {count_done(api)} of {len(corpus)} documents finished")
        time.sleep(0.1)
    documents = [d for d in all_documents(api) if str(d["id"]) in started]
    finished = {str(d["id"]): datetime.fromisoformat(str(d["completed_at"])).timestamp() for d in documents}
    failed = sum(1 for d in documents if d["status"] == "failed")
    first_upload = min(started.values())
    latencies = [(finished[doc] - started[doc]) * 1000 for doc in started]
    return RunResult(len(corpus), failed, max(finished.values()) - first_upload, latencies)


def run_series(
    label: str, corpus: list[tuple[str, bytes]], workers: int, runs: int, env: dict[str, str]
) -> list[RunResult]:
    results = []
    for run in range(runs):
        with bench_stack(workers, **env) as stack:
            result = measure(stack, corpus)
        results.append(result)
        print(
            f"  {label:6s} workers={workers} run {run + 1}: {result.per_minute:6.0f} docs/min "
            f"({result.documents} in {result.seconds:.1f} s, failed {result.failed}) "
            f"p50={result.p50_ms:.0f} ms p99={result.p99_ms:.0f} ms load1={os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return results


def summarise(label: str, workers: int, results: list[RunResult]) -> str:
    rates = [r.per_minute for r in results]
    return (
        f"{label:6s} workers={workers} runs={len(results)} docs/min median={statistics.median(rates):.0f} "
        f"(min {min(rates):.0f}, max {max(rates):.0f}) "
        f"p50 median={statistics.median(r.p50_ms for r in results):.0f} ms "
        f"p99 median={statistics.median(r.p99_ms for r in results):.0f} ms "
        f"failed={sum(r.failed for r in results)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", choices=["text", "mixed", "both"], default="both")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--text-count", type=int, default=200)
    parser.add_argument("--mixed-count", type=int, default=200)
    parser.add_argument("--ocr-images", type=int, default=4)
    args = parser.parse_args()
    corpora = {
        "text": text_corpus(args.text_count),
        "mixed": mixed_corpus(args.mixed_count, args.ocr_images, ("scan_korean_english.png",)),
    }
    names = ["text", "mixed"] if args.corpus == "both" else [args.corpus]
    summaries = []
    for name in names:
        for workers in args.workers:
            results = run_series(name, corpora[name], workers, args.runs, {})
            summaries.append(summarise(name, workers, results))
    print("\n".join(summaries))


if __name__ == "__main__":
    main()
