"""Upload -> completed latency of a one-page text PDF, on real processes.

    .venv/bin/python -m bench.pipeline_latency --backend both --runs 30

Starts uvicorn and one Celery worker (concurrency 1) on either PostgreSQL + Redis or the
embedded defaults (SQLite + the SQLite broker), uploads the same one-page PDF `--runs` times one
after another, and polls the document every 10 ms until it is completed. Prints the median, p90
and max of the client-observed time and of the server's own `processing_ms`.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.stacks import running_stack
from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.stack import Stack


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(stack: Stack, runs: int) -> dict[str, float]:
    api = ApiClient(stack.base_url)
    api.register_and_login()
    pdf = small_text_pdf()
    # One warm-up so imports and connection pools are not counted.
    api.wait_for(api.upload_bytes(pdf, "warmup.pdf").json()["data"]["id"])
    client_ms: list[float] = []
    server_ms: list[float] = []
    for index in range(runs):
        started = time.perf_counter()
        document_id = api.upload_bytes(pdf, f"bench-{index}.pdf").json()["data"]["id"]
        while True:
            document = api.get(f"/api/v1/documents/{document_id}").json()["data"]
            if document["status"] in ("completed", "failed"):
                break
            time.sleep(0.01)
        assert document["status"] == "completed", document
        client_ms.append((time.perf_counter() - started) * 1000)
        server_ms.append(float(document["processing_ms"]))
    return {
        "median_ms": statistics.median(client_ms),
        "p90_ms": _percentile(client_ms, 0.9),
        "max_ms": max(client_ms),
        "worker_median_ms": statistics.median(server_ms),
    }


def run_backend(backend: str, runs: int) -> dict[str, float]:
    with running_stack(backend) as stack:
        return measure(stack, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["postgres", "embedded", "both"], default="both")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    backends = ["postgres", "embedded"] if args.backend == "both" else [args.backend]
    for backend in backends:
        result = run_backend(backend, args.runs)
        print(
            f"{backend:9s} runs={args.runs} upload->completed median={result['median_ms']:.0f} ms "
            f"p90={result['p90_ms']:.0f} ms max={result['max_ms']:.0f} ms "
            f"(worker processing median {result['worker_median_ms']:.0f} ms)"
        )


if __name__ == "__main__":
    main()
