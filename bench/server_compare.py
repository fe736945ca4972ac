"""The same app under uvicorn and granian: `.venv/bin/python -m bench.server_compare [--runs 3]`.

Starts the benchmark stack of bench/http.py (PostgreSQL + Redis, one user with 30 processed PDFs,
the worker stopped), then a granian process (`--interface asgi --loop uvloop --workers 1`) beside
the stack's uvicorn, both with the same environment. Alternates `wrk -t2 -c64 -d10s` on the
authenticated `GET /api/v1/documents/{id}` and on `GET /health` between the two servers, `--runs`
rounds, and prints the median req/s, p99 and the server's CPU per request. granian is a dev/bench
dependency only (requirements-dev.txt): the service runs on uvicorn (see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.http import _wait_healthy, cpu_seconds, run_wrk, seed
from bench.stacks import running_stack
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    with running_stack("postgres") as stack:
        token, doc_id = seed(stack)
        stack.kill("worker", signal.SIGTERM)
        env = {"BENCH_TOKEN": token}
        port = free_port()
        granian = subprocess.Popen(
            [str(Path(sys.executable).parent / "granian"), "--interface", "asgi", "--loop", "uvloop",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "fastapi_app.main:app"],
            env=stack.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            _wait_healthy(f"http://127.0.0.1:{port}")
            time.sleep(1)
            granian_pids = [int(p) for p in subprocess.check_output(["pgrep", "-g", str(granian.pid)]).split()]
            servers = {
                "uvicorn": (stack.base_url, [stack.processes["uvicorn"].pid]),
                "granian": (f"http://127.0.0.1:{port}", granian_pids),
            }
            targets = {
                "GET /api/v1/documents/{id}": (f"/api/v1/documents/{doc_id}", "auth.lua"),
                "GET /health": ("/health", None),
            }
            results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
            for base, _ in servers.values():
                run_wrk(base + targets["GET /api/v1/documents/{id}"][0], "auth.lua", 64, 2, env)  # warm-up
            for _ in range(args.runs):
                for server, (base, pids) in servers.items():
                    for target, (path, script) in targets.items():
                        before = cpu_seconds(pids)
                        run = run_wrk(base + path, script, 64, args.duration, env)
                        cpu_ms = (cpu_seconds(pids) - before) * 1000 / max(run.requests, 1)
                        results.setdefault((server, target), []).append((run.rps, run.p99_ms, cpu_ms))
                        print(f"  {server} {target}: {run.rps:,.0f} req/s p99 {run.p99_ms:.1f} ms", file=sys.stderr)
            print("| server | target | req/s median (min–max) | p99 ms | CPU ms/req |")
            print("|---|---|---:|---:|---:|")
            for (server, target), runs in results.items():
                rps = [r[0] for r in runs]
                print(
                    f"| {server} | {target} | {statistics.median(rps):,.0f} ({min(rps):,.0f}–{max(rps):,.0f}) | "
                    f"{statistics.median(r[1] for r in runs):.1f} | {statistics.median(r[2] for r in runs):.2f} |"
                )
        finally:
            os.killpg(granian.pid, signal.SIGTERM)
            granian.wait(timeout=20)


if __name__ == "__main__":
    main()
