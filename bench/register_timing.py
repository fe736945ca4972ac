"""Does registration take as long for an email that already has an account as for a new one?

    .venv/bin/python -m bench.register_timing --pairs 20 --runs 5 [--database-url postgresql://...]

In-process (httpx's ASGI transport, no network), on a throwaway SQLite database unless a
PostgreSQL URL is given. Each pair registers one new account and one with an email that is already
registered (fresh username), alternating, so drift of the machine hits both alike. Prints per run the
median of each kind and their ratio (taken / new); the last line is the median of the runs. A ratio
near 1 means the answer's timing does not tell the two apart (issue 12, 8a).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path


def _configure(database_url: str | None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-register-"))
    os.environ.update(
        ENVIRONMENT="test",
        SECRET_KEY=uuid.uuid4().hex * 2,
        DATABASE_URL=database_url or f"sqlite:///{workdir / 'app.sqlite3'}",
        CELERY_BROKER_URL=f"sqla+sqlite:///{workdir / 'broker.sqlite3'}",
        REDIS_URL="",
        RATE_LIMITS_ENABLED="false",
        LOG_LEVEL="WARNING",
        UPLOAD_DIR=str(workdir / "media"),
        LOG_DIR=str(workdir / "logs"),
        REPORTS_DIR=str(workdir / "reports"),
    )


async def _run(pairs: int) -> tuple[float, float]:
    import httpx

    from fastapi_app.main import create_app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://b") as api:
        owner = f"o{uuid.uuid4().hex[:12]}"
        body = {"username": owner, "email": f"{owner}@example.com", "password": "pw-12345678"}
        assert (await api.post("/api/v1/auth/register", json=body)).status_code == 201
        new_ms: list[float] = []
        taken_ms: list[float] = []
        statuses: set[tuple[bool, int]] = set()
        for _ in range(pairs):
            for email_taken in (False, True):
                name = f"u{uuid.uuid4().hex[:12]}"
                email = f"{owner}@example.com" if email_taken else f"{name}@example.com"
                started = time.perf_counter()
                r = await api.post(
                    "/api/v1/auth/register", json={"username": name, "email": email, "password": "pw-1234567"}
                )
                elapsed = (time.perf_counter() - started) * 1000
                # 201 both ways now; the code before issue 12 answered a registered email with 409 at once
                # (run this on it for the baseline).
                assert r.status_code == 201 or (email_taken and r.status_code == 409), r.text
                statuses.add((email_taken, r.status_code))
                (taken_ms if email_taken else new_ms).append(elapsed)
    taken_status = sorted(code for taken, code in statuses if taken)
    print(f"answers: new email {sorted(code for taken, code in statuses if not taken)}, registered {taken_status}")
    return statistics.median(new_ms), statistics.median(taken_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    _configure(args.database_url)
    from init_db import upgrade_database

    upgrade_database()
    ratios: list[float] = []
    for run in range(1, args.runs + 1):
        new, taken = asyncio.run(_run(args.pairs))
        ratios.append(taken / new)
        print(f"run {run}: new email {new:.1f} ms, registered email {taken:.1f} ms, ratio {taken / new:.2f}")
    print(f"median ratio (registered / new) over {args.runs} runs: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
