"""How long the web app takes to become usable on a cold start.

Each run starts uvicorn afresh (on a migrated PostgreSQL database of its own), launches Debian's
chromium afresh and opens / in a new context (empty cache, no cookies), then reads:
- server ready: from spawning uvicorn to its first 200 on /health;
- FCP: first-contentful-paint from performance.getEntriesByType('paint');
- login usable: from navigation start until the login form (username and password inputs inside
  <main>'s form, enabled and visible) is on screen, polled every animation frame;
- what was transferred: requests and bytes (Resource Timing).
Median of --runs (default 5). `--profile slow4g` adds Lighthouse's mobile throttling (150 ms RTT,
1.6 Mbit/s down, 750 kbit/s up, CPU 4x slower) through the DevTools protocol.

    .venv/bin/python -m bench.web_fcp [--runs 5] [--profile none|slow4g|both] [--base-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from tests.support.browser import launch_chromium, new_context
from tests.support.services import create_postgres_database, drop_postgres_database, require_redis
from tests.support.stack import Stack, stack_env

PROFILES: dict[str, dict[str, Any] | None] = {
    "none": None,
    "slow4g": {"latency": 150, "download": 1.6e6 / 8, "upload": 750e3 / 8, "cpu": 4},
}

# The login form is rendered by the app (not the shell's "loading" text): its inputs can take typing.
LOGIN_USABLE = """() => {
    const form = document.querySelector('main form');
    const username = form && form.querySelector('input[autocomplete=username]');
    const password = form && form.querySelector('input[type=password]');
    return username && password && !username.disabled && password.offsetParent !== null ? performance.now() : false;
}"""


@dataclass
class Run:
    server_ready_ms: float | None
    fcp_ms: float
    login_usable_ms: float
    requests: int
    transferred_kb: float


def measure_page(base_url: str, profile: str) -> tuple[float, float, int, float]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = new_context(browser, base_url)
            page = context.new_page()
            throttle = PROFILES[profile]
            if throttle:
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send(
                    "Network.emulateNetworkConditions",
                    {
                        "offline": False,
                        "latency": throttle["latency"],
                        "downloadThroughput": throttle["download"],
                        "uploadThroughput": throttle["upload"],
                    },
                )
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle["cpu"]})
            page.goto("/", wait_until="commit")
            usable = float(page.wait_for_function(LOGIN_USABLE, polling="raf", timeout=60_000).json_value())
            page.wait_for_load_state("load")
            fcp = page.evaluate(
                "() => (performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint')"
                " || {}).startTime ?? null"
            )
            resources = page.evaluate(
                "() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]"
                ".map(e => e.transferSize)"
            )
            context.close()
        finally:
            browser.close()
    if fcp is None:
        raise RuntimeError("no first-contentful-paint entry")
    return float(fcp), usable, len(resources), sum(resources) / 1024


def fresh_server_run(env: dict[str, str], workdir: Path, profile: str) -> Run:
    stack = Stack(env=env, workdir=workdir)
    started = time.perf_counter()
    stack.start_api()
    try:
        deadline = started + 60
        while True:
            try:
                if httpx.get(f"{stack.base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                raise TimeoutError(stack.output("uvicorn"))
            time.sleep(0.02)
        ready_ms = (time.perf_counter() - started) * 1000
        fcp, usable, requests, kb = measure_page(stack.base_url, profile)
        return Run(ready_ms, fcp, usable, requests, kb)
    finally:
        stack.stop()


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(profile: str, runs: list[Run]) -> str:
    lines = [
        f"profile: {profile}",
        "| run | server ready | FCP | login form usable | requests | transferred |",
        "|---|---|---|---|---|---|",
    ]
    for i, run in enumerate(runs, 1):
        ready = f"{run.server_ready_ms:.0f} ms" if run.server_ready_ms is not None else "–"
        lines.append(
            f"| {i} | {ready} | {run.fcp_ms:.0f} ms | {run.login_usable_ms:.0f} ms | {run.requests} "
            f"| {run.transferred_kb:.0f} KB |"
        )
    ready_values = [r.server_ready_ms for r in runs if r.server_ready_ms is not None]
    lines.append(
        f"| **median** | {f'{median(ready_values):.0f} ms' if ready_values else '–'} "
        f"| **{median([r.fcp_ms for r in runs]):.0f} ms** | **{median([r.login_usable_ms for r in runs]):.0f} ms** "
        f"| {median([r.requests for r in runs]):.0f} | {median([r.transferred_kb for r in runs]):.0f} KB |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", choices=[*PROFILES, "both"], default="both")
    parser.add_argument("--base-url", help="measure this running server instead of starting one per run")
    args = parser.parse_args()
    profiles = list(PROFILES) if args.profile == "both" else [args.profile]

    if args.base_url:
        for profile in profiles:
            runs = []
            for _ in range(args.runs):
                fcp, usable, requests, kb = measure_page(args.base_url, profile)
                runs.append(Run(None, fcp, usable, requests, kb))
            print(table(profile, runs), end="\n\n")
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-web-fcp-"))
    postgres_url = create_postgres_database()
    try:
        redis_url = require_redis()
        env = stack_env(workdir, DATABASE_URL=postgres_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url)
        Stack(env=env, workdir=workdir).migrate()
        for profile in profiles:
            runs = [fresh_server_run(env, workdir, profile) for _ in range(args.runs)]
            print(table(profile, runs), end="\n\n")
    finally:
        drop_postgres_database(postgres_url)


if __name__ == "__main__":
    main()
