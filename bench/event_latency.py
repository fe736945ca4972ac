"""Event latency: worker publish -> WebSocket client receive, on real processes.

    .venv/bin/python -m bench.event_latency [--backend postgres|embedded|both] [--documents 30]

Starts uvicorn and one Celery worker, connects a WebSocket client, uploads `--documents`
one-page PDFs one after another and, for every event received, takes (receive time - the event's
own timestamp, set by the worker when it records the event). Same host, same clock. Prints
p50/p90/p99/max over all events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime

import websockets

from bench.stacks import running_stack
from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.stack import Stack


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(stack: Stack, documents: int) -> list[float]:
    api = ApiClient(stack.base_url)
    api.register_and_login()
    latencies: list[float] = []
    url = stack.base_url.replace("http://", "ws://") + f"/ws?token={api.token}"
    async with websockets.connect(url) as ws:
        await ws.recv()  # snapshot
        for index in range(documents + 1):
            response = await asyncio.to_thread(api.upload_bytes, small_text_pdf(), f"lat-{index}.pdf")
            document_id = response.json()["data"]["id"]
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 60))
                received = datetime.now(UTC)
                if message.get("document_id") != document_id:
                    continue
                if index > 0:  # the first document warms imports and pools
                    sent = datetime.fromisoformat(message["timestamp"])
                    latencies.append((received - sent).total_seconds() * 1000)
                if message["type"] in ("document_completed", "document_failed"):
                    break
    return latencies


def run_backend(backend: str, documents: int) -> list[float]:
    with running_stack(backend) as stack:
        time.sleep(0.5)
        return asyncio.run(measure(stack, documents))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["postgres", "embedded", "both"], default="both")
    parser.add_argument("--documents", type=int, default=30)
    args = parser.parse_args()
    for backend in ["postgres", "embedded"] if args.backend == "both" else [args.backend]:
        values = run_backend(backend, args.documents)
        print(
            f"{backend:9s} events={len(values)} publish->receive p50={statistics.median(values):.1f} ms "
            f"p90={_percentile(values, 0.9):.1f} ms p99={_percentile(values, 0.99):.1f} ms max={max(values):.1f} ms"
        )


if __name__ == "__main__":
    main()
