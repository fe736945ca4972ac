"""CPU per request of the ASGI apps alone, no HTTP server: `PYTHONPATH=. .venv/bin/python -m bench.app_cpu`.

    PYTHONPATH=. .venv/bin/python -m bench.app_cpu [--requests 4000] [--rounds 3] [--profile DIR]

bench/http.py measures through uvicorn and wrk, where the server's HTTP parsing and the socket writes are
part of every figure. This bench calls the apps directly, in this process, on uvloop: the service's
`fastapi_app.main:app` for the authenticated `GET /api/v1/documents/{id}`, and bench/prototypes.py's
raw-asyncpg document GET and its constant JSON answer (`/plain`). 16 concurrent callers, the same
seeded user, token and document as bench.http (PostgreSQL + Redis, a fresh database). It prints the
process CPU time per request (every thread counted: the access log's writer too), round after round in
alternation. `--profile DIR` also writes one cProfile of each app.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.http import seed
from bench.stacks import running_stack

CALLERS = 16
Asgi = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


async def call(app: Asgi, path: str, token: str, count: int) -> dict[int, int]:
    """`count` GETs of `path` by CALLERS concurrent callers; the statuses answered, counted."""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode()), (b"user-agent", b"bench")]
    statuses: dict[int, int] = {}

    async def one() -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
        }  # fmt: skip
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # a GET has no more body; the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    async def caller(calls: int) -> None:
        for _ in range(calls):
            await one()

    await asyncio.gather(*(caller(count // CALLERS) for _ in range(CALLERS)))
    return statuses


async def start(app: Asgi) -> None:
    """Run the app's lifespan start-up (pools, the event hub) and leave it running."""
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await messages.put({"type": "lifespan.startup"})
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    asyncio.get_running_loop().create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, messages.get, send)
    )
    await started.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="also write DIR/<app>.prof (cProfile), one per app")
    args = parser.parse_args()
    with running_stack("postgres") as stack:
        token, document_id = seed(stack)
        os.environ.update(stack.env)  # the apps read their settings at import
        import uvloop

        import bench.prototypes as prototypes
        from fastapi_app.main import app as service

        targets: dict[str, tuple[Asgi, str]] = {
            "service: GET /api/v1/documents/{id}": (service, f"/api/v1/documents/{document_id}"),
            "service: GET /health": (service, "/health"),
            "prototype: FastAPI + PyJWT + raw asyncpg": (prototypes.app, f"/asyncpg/documents/{document_id}"),
            "prototype: plain JSON GET": (prototypes.app, "/plain"),
        }
        uvloop.run(measure(targets, token, args))


async def measure(targets: dict[str, tuple[Asgi, str]], token: str, args: argparse.Namespace) -> None:
    for app in {id(app): app for app, _ in targets.values()}.values():
        await start(app)
    for name, (app, path) in targets.items():
        warm = await call(app, path, token, 500)
        assert set(warm) == {200}, f"{name}: {warm}"
    cpu_ms: dict[str, list[float]] = {name: [] for name in targets}
    for round_number in range(args.rounds):
        for name, (app, path) in targets.items():
            before = time.process_time()
            statuses = await call(app, path, token, args.requests)
            spent = time.process_time() - before
            assert set(statuses) == {200}, f"{name}: {statuses}"
            cpu_ms[name].append(1000 * spent / sum(statuses.values()))
            print(f"round {round_number + 1} {name}: {cpu_ms[name][-1]:.3f} ms CPU/request", flush=True)
    print("\n| app (in process, no HTTP server) | CPU ms/request, median (min–max) |\n|---|---:|")
    for name, values in cpu_ms.items():
        print(f"| {name} | {statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f}) |")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        for number, (name, (app, path)) in enumerate(targets.items()):
            profile = cProfile.Profile()
            profile.enable()
            await call(app, path, token, args.requests)
            profile.disable()
            profile.dump_stats(args.profile / f"{number}-{name.split(':')[0]}.prof")


if __name__ == "__main__":
    main()
