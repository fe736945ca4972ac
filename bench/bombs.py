"""Peak memory of the real processes fed a decompression bomb and a huge-extent workbook.

    .venv/bin/python -m bench.bombs --runs 3
    .venv/bin/python -m bench.bombs --runs 3 --inflated-mib 2048   # the issue's 2 GiB mimetype

uvicorn and one Celery worker (`--concurrency 1`) on PostgreSQL + Redis, default settings. Files are
generated first (tests/support/bombs.py):

- bomb.ods: an ODS-shaped zip whose `mimetype` member is the ODS type padded with spaces to
  `--inflated-mib` (about 1 MiB on disk for 1 GiB inflated);
- cv.xlsx / xfd.xlsx: a few-KB workbook with values only in A1 and CV1048576 / XFD1048576.

For each upload the peak RSS (VmHWM) of the process that handles it is reset first (writing 5 to
/proc/<pid>/clear_refs), then read when it is done: the uvicorn process for the bomb (the upload's
response is the end), the worker's pool child for the workbooks (the document reaching completed or
failed is the end). CELERY_WORKER_MAX_MEMORY_PER_CHILD=0, so a child is not replaced for its size
before its peak is read; a child that died (unfixed code: calamine aborting) is reported as exited,
with the last peak sampled while it lived.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.stacks import bench_stack
from tests.support import bombs
from tests.support.client import ApiClient

MIB = 1024 * 1024


def status_kib(pid: int, field: str) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def children(pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids.extend(int(child) for child in (task / "children").read_text().split())
    return pids


def upload_bomb(api: ApiClient, api_pid: int, path: Path) -> tuple[float, float, str, float]:
    """(peak RSS MiB, its growth over the RSS before, outcome, seconds) for one upload of the bomb."""
    reset_peak(api_pid)
    baseline = status_kib(api_pid, "VmHWM") or 0
    started = time.perf_counter()
    with path.open("rb") as fh:
        response = api.post("/api/v1/documents/upload", files={"file": (path.name, fh)}, timeout=600)
    seconds = time.perf_counter() - started
    peak = status_kib(api_pid, "VmHWM") or 0
    body = response.json()
    outcome = f"{response.status_code} {body.get('error_code') or body['data']['status']}"
    return peak / 1024, (peak - baseline) / 1024, outcome, seconds


def process_sheet(api: ApiClient, worker_pid: int, path: Path) -> tuple[float | None, str, float]:
    """(peak RSS of the pool child in MiB, or None when it exited; outcome; seconds) for one workbook."""
    while not children(worker_pid):  # a child replaced after its last task is being forked
        time.sleep(0.05)
    child = children(worker_pid)[0]
    reset_peak(child)
    started = time.perf_counter()
    with path.open("rb") as fh:
        response = api.post("/api/v1/documents/upload", files={"file": (path.name, fh)})
    assert response.status_code == 202, response.text
    document_id = response.json()["data"]["id"]
    peak = status_kib(child, "VmHWM")
    while True:
        document = api.get(f"/api/v1/documents/{document_id}").json()["data"]
        if document["status"] in ("completed", "failed"):
            break
        sampled = status_kib(child, "VmHWM")
        peak = sampled if sampled is not None else peak
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    alive = status_kib(child, "VmHWM")
    code = f" {document['error_code']}" if document["error_code"] else ""
    outcome = f"{document['status']}{code} (attempts {document['attempts']})"
    if alive is None:
        # Gone: killed, or replaced after its task for passing CELERY_WORKER_MAX_MEMORY_PER_CHILD.
        # The last sample taken while it lived is a lower bound of its peak.
        last = f"last seen at {peak / 1024:.0f} MiB" if peak else "no sample"
        return None, f"{outcome}, child exited ({last})", seconds
    return alive / 1024, outcome, seconds


def summary(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    gone = len(values) - len(known)
    text = f"median {statistics.median(known):.0f} MiB (runs: {', '.join(f'{v:.0f}' for v in known)})" if known else ""
    return text + (f"{'; ' if text else ''}{gone} of {len(values)} children exited" if gone else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inflated-mib", type=int, default=2048)
    parser.add_argument("--skip-xfd", action="store_true", help="leave out the workbook that aborts unfixed workers")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-bombs-"))
    started = time.perf_counter()
    bomb = bombs.ods_mimetype_bomb(folder / "bomb.ods", inflated=args.inflated_mib * MIB)
    sheets = {"cv.xlsx": bombs.sparse_sheet_xlsx(folder / "cv.xlsx", "CV1048576")}
    if not args.skip_xfd:
        sheets["xfd.xlsx"] = bombs.sparse_sheet_xlsx(folder / "xfd.xlsx", "XFD1048576")
    print(
        f"generated in {time.perf_counter() - started:.1f} s: bomb.ods {bomb.stat().st_size / MIB:.2f} MiB on disk, "
        f"{args.inflated_mib} MiB inflated; "
        + ", ".join(f"{name} {path.stat().st_size} B" for name, path in sheets.items()),
        flush=True,
    )
    # Recycling off: a child replaced for its size right after the task would take its peak with it.
    with bench_stack(1, CELERY_WORKER_MAX_MEMORY_PER_CHILD="0") as stack:
        api = ApiClient(stack.base_url)
        api.register_and_login()
        api_pid = stack.processes["uvicorn"].pid
        worker_pid = stack.processes["worker1"].pid
        print(f"API idle RSS {status_kib(api_pid, 'VmRSS')} KiB", flush=True)
        growth: list[float | None] = []
        for run in range(args.runs):
            peak, mib, outcome, seconds = upload_bomb(api, api_pid, bomb)
            growth.append(mib)
            print(
                f"  bomb.ods run {run + 1}: API peak RSS {peak:.0f} MiB (+{mib:.0f}), {outcome}, {seconds:.2f} s",
                flush=True,
            )
            # Unfixed, the upload is accepted and the worker reads the member too: let it finish.
            while any(
                api.get("/api/v1/documents/", params={"status": s, "page_size": 1}).json()["total"]
                for s in ("pending", "processing")
            ):
                time.sleep(0.2)
        print(f"bomb.ods: API peak RSS growth {summary(growth)}", flush=True)
        accepted = api.get("/api/v1/documents/", params={"page_size": 100}).json()["data"]
        if accepted:  # unfixed: what the worker made of the bombs the API let through
            outcomes = sorted({f"{d['status']} {d['error_code']} (attempts {d['attempts']})" for d in accepted})
            print(f"bomb.ods accepted {len(accepted)} times; worker outcome: {', '.join(outcomes)}", flush=True)
        for name, path in sheets.items():
            peaks: list[float | None] = []
            for run in range(args.runs):
                peak, outcome, seconds = process_sheet(api, worker_pid, path)
                peaks.append(peak)
                shown = "-" if peak is None else f"{peak:.0f} MiB"
                print(f"  {name} run {run + 1}: worker child peak RSS {shown}, {outcome}, {seconds:.2f} s", flush=True)
            print(f"{name}: worker child peak RSS {summary(peaks)}", flush=True)


if __name__ == "__main__":
    main()
