"""What FastAPI's route matching costs per request, by path: `PYTHONPATH=. .venv/bin/python -m bench.route_matching`.

The app's top-level routes are matched in order (`route.matches(scope)`) until one matches fully, as
Starlette's router does for each request, 20,000 times per path; the position of the match and the
microseconds per walk are printed. FastAPI 0.165 walks every route of each included router it passes
and walks the matching router a second time to handle the request, so a request pays about twice the
figure shown. No database or server is needed: the app is only imported.
"""

from __future__ import annotations

import time
import uuid

from starlette.routing import Match

PATHS = (
    "/health",
    f"/api/v1/documents/{uuid.uuid4()}",
    "/api/v1/documents/",
    f"/api/documents/{uuid.uuid4()}",  # the deprecated alias
    f"/documents/{uuid.uuid4()}",  # a web page
)
WALKS = 20_000


def main() -> None:
    from fastapi_app.main import app

    routes = app.router.routes

    def walk(path: str) -> int:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [], "app": app}
        for position, route in enumerate(routes):
            if route.matches(scope)[0] == Match.FULL:
                return position
        return -1

    print(f"| path | top-level route matched (of {len(routes)}) | µs per walk |\n|---|---:|---:|")
    for path in PATHS:
        position = walk(path)
        started = time.perf_counter()
        for _ in range(WALKS):
            walk(path)
        microseconds = (time.perf_counter() - started) / WALKS * 1e6
        shown = path.replace(path.rsplit("/", 1)[-1], "{id}") if "-" in path else path
        print(f"| `{shown}` | {position} | {microseconds:.1f} |")


if __name__ == "__main__":
    main()
