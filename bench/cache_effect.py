"""The Redis read cache's effect at 10,000 documents: `.venv/bin/python -m bench.cache_effect`.

A fresh PostgreSQL database + Redis and one uvicorn process (tests/support/stack.py, as bench/http.py);
one user with N documents seeded straight into PostgreSQL (bench/seed_documents.py). Targets: the
statistics summary, the timeseries (30 days), the list page (page 1, page_size 20) and one document.
The API is restarted with CACHE_ENABLED=false, then true, alternately (`--rounds`, default 3); in each
round every target gets a short warm-up, then `--duration` seconds of `--clients` (16) concurrent
keep-alive clients. No writes happen meanwhile: with the cache on, this is its steady state (every read a
hit), the best case; a write costs the next read of that user one miss.

wrk is not installed on this machine, so the load comes from a small asyncio HTTP/1.1 client (raw
sockets: a few µs per request, against the ~1 ms+ the API spends), in its own process. Prints a
Markdown table: medians over the rounds of req/s, p50, p99 and the API process's CPU ms per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.http import _wait_healthy, cpu_seconds
from bench.seed_documents import seed
from bench.stacks import running_stack
from tests.support.client import ApiClient
from tests.support.stack import Stack

TARGETS = {
    "stats summary": "/api/v1/documents/stats/summary",
    "stats timeseries (30 d)": "/api/v1/documents/stats/timeseries?days=30&tz=Asia/Seoul",
    "list page (1, 20)": "/api/v1/documents/?page=1&page_size=20",
    "one document": "/api/v1/documents/{id}",
}
TARGET_P99_MS = 100.0  # issue 18: list and statistics at 10,000 documents, 16 clients


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_ms: float = 0.0


async def _client(
    host: str, port: int, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (start := time.perf_counter()) < until:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def _load(host: str, port: int, path: str, token: str, clients: int, duration: float) -> Run:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    until = started + duration
    await asyncio.gather(*(_client(host, port, request, until, latencies, errors) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return Run(
        rps=len(ordered) / elapsed,
        p50_ms=ordered[len(ordered) // 2] * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        requests=len(ordered),
        errors=len(errors),
    )


def load(port: int, path: str, token: str, clients: int, duration: float) -> Run:
    """One load run from a separate process, so the client never shares the API's interpreter."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.cache_effect", "--load", json.dumps([port, path, clients, duration])],
        env={**os.environ, "BENCH_TOKEN": token},
        capture_output=True,
        text=True,
        check=True,
    )
    return Run(**json.loads(out.stdout))


def restart_api(stack: Stack, cache_enabled: bool) -> int:
    if "uvicorn" in stack.processes and stack.processes["uvicorn"].poll() is None:
        stack.kill("uvicorn", signal.SIGTERM)
    stack.env["CACHE_ENABLED"] = "true" if cache_enabled else "false"
    stack.start_api()
    _wait_healthy(stack.base_url)
    return stack.processes["uvicorn"].pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        port, path, clients, duration = json.loads(args.load)
        run = asyncio.run(_load("127.0.0.1", port, path, os.environ["BENCH_TOKEN"], clients, duration))
        print(json.dumps(run.__dict__))
        return

    with running_stack("postgres") as stack:
        stack.kill("worker", signal.SIGTERM)  # nothing to process; keep both cores for the API
        api = ApiClient(stack.base_url)
        account = api.register_and_login()
        started = time.perf_counter()
        seed(stack.env["DATABASE_URL"], account["username"], args.documents)
        print(f"seeded {args.documents} documents in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        token = api.token or ""
        document_id = api.get("/api/v1/documents/", params={"page_size": 1}).json()["data"][0]["id"]
        results: dict[tuple[str, bool], list[Run]] = {}
        loads = []
        for round_number in range(args.rounds):
            for cache_enabled in (False, True):
                pid = restart_api(stack, cache_enabled)
                for label, path in TARGETS.items():
                    path = path.format(id=document_id)
                    load(stack.port, path, token, args.clients, 1.0)  # warm-up: pools, statement caches
                    before = cpu_seconds([pid])
                    run = load(stack.port, path, token, args.clients, args.duration)
                    run.cpu_ms = (cpu_seconds([pid]) - before) * 1000 / max(run.requests, 1)
                    results.setdefault((label, cache_enabled), []).append(run)
                    print(f"  round {round_number + 1} cache {'on' if cache_enabled else 'off'} {label}: {run}",
                          file=sys.stderr)  # fmt: skip
                loads.append(os.getloadavg()[0])
    print(f"load average (1 min) during the runs: {min(loads):.2f}–{max(loads):.2f}")
    print()
    print("| target | cache | req/s | p50 ms | p99 ms | CPU ms/req | errors | p99 ≤ 100 ms |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for label in TARGETS:
        for cache_enabled in (False, True):
            runs = results[(label, cache_enabled)]

            def cell(attr: str, fmt: str, runs: list[Run] = runs) -> str:
                values = [getattr(r, attr) for r in runs]
                return (
                    f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"
                )

            p99 = statistics.median(r.p99_ms for r in runs)
            print(
                f"| {label} | {'on' if cache_enabled else 'off'} | {cell('rps', ',.0f')} | {cell('p50_ms', '.1f')} | "
                f"{cell('p99_ms', '.1f')} | {cell('cpu_ms', '.2f')} | {sum(r.errors for r in runs)} | "
                f"{'yes' if p99 <= TARGET_P99_MS else 'no'} |"
            )


if __name__ == "__main__":
    main()
