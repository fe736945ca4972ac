"""Issue 18, item 3: the whole pipeline on the repository's real documents, against the CLI's own
extraction of the same files in the same run.

    PYTHONPATH=. .venv/bin/python -m bench.pipeline_overhead --rounds 3 --repeat 2

The set is every document the repository carries: tests/corpus (public PDFs, scans, photos, workbooks,
CSV, HWP/HWPX, with their faults: an encrypted PDF, a truncated PNG, a corrupt .xls) and
tests/samples (the Korean invoice, scans, photos, sheets, a 20-page PDF that fans out into parts),
each `--repeat` times. Files the upload refuses (the service's own checks, e.g. a type it does not
take) are left out of both sides and listed.

Each round, in this order:
- `cli`: `python -m fastapi_app extract FILE --timings` once per distinct file, as separate
  processes, one after another (`cold`: the detection + extraction time it prints, and the whole
  command's wall time), then the CLI's same `main()` twice per file in one process (`warm`: the
  second call's printed time, so no lazy import or first-use cost is in it). The baseline is the
  warm sum times `--repeat`: the strictest one; the cold sums are printed beside it.
- `pipeline-1`, `pipeline-2`: a fresh stack (uvicorn, PostgreSQL, Redis) with 1 or 2 Celery worker
  processes of concurrency 1 each. After a warm-up document per worker, every document is uploaded
  by 4 client threads; the run ends when all are completed or failed. Wall time = first upload
  start -> last `completed_at`.

Same run, the workers' own extraction: each stored result carries the time its extraction and
analysis took in the worker (`timings_ms`), so wall / (their sum / workers) is measured at the same
moment as the wall time. On this VM the CPU's speed drifts by 10-30 % between minutes (the workers'
CPU against the CLI's for the same files ran from 0.98 to 1.33 in one hour), which moves the CLI
ratio as much as any change of ours; the same-run ratio is the steadier one.

Overhead = pipeline wall / (CLI extraction sum / workers): the pipeline's own cost on top of the
extraction (upload, detection, queueing, the database, events, the report, page parts and their
merge). Per document = (pipeline wall x workers - CLI extraction sum) / documents. The per-document
`processing_ms` (worker claim -> stored) against the same file's CLI time splits that into what
happens in the worker and what happens before it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.stacks import bench_stack
from tests.support.client import ApiClient
from tests.support.documents import small_text_pdf
from tests.support.stack import ROOT, Stack, stack_env

SOURCES = (
    ROOT / "tests" / "corpus" / "files",
    ROOT / "tests" / "corpus" / "hwp",
    ROOT / "tests" / "samples" / "pdf",
    ROOT / "tests" / "samples" / "images",
    ROOT / "tests" / "samples" / "sheets",
)
SKIPPED_SUFFIXES = {".json", ".md", ".txt", ".py"}
UPLOAD_THREADS = 4
TIMINGS = re.compile(r"timings: detect (\d+\.\d) ms, extract (\d+\.\d) ms")


def real_documents() -> list[Path]:
    return sorted(
        path
        for folder in SOURCES
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() not in SKIPPED_SUFFIXES and path.name != "SOURCES"
    )


@dataclass
class CliRun:
    extract_ms: dict[str, float] = field(default_factory=dict)  # relative path -> warm detection + extraction
    cpu_ms: dict[str, float] = field(default_factory=dict)  # the same call's CPU, its tesseract children's included
    cold_extract_ms: dict[str, float] = field(default_factory=dict)  # the same in a fresh process
    wall_ms: dict[str, float] = field(default_factory=dict)  # the whole command
    exit_codes: dict[str, int] = field(default_factory=dict)


def label(path: Path) -> str:
    return str(path.relative_to(ROOT / "tests"))


def run_cli(files: list[Path], env: dict[str, str]) -> CliRun:
    run = CliRun()
    for path in files:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "fastapi_app", "extract", str(path), "--timings"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        run.wall_ms[label(path)] = (time.perf_counter() - started) * 1000
        run.exit_codes[label(path)] = done.returncode
        match = TIMINGS.search(done.stderr)
        if match is not None:  # a refused file (exit 3) is refused before any timing
            run.cold_extract_ms[label(path)] = float(match.group(1)) + float(match.group(2))
    warm = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_overhead", "--warm-cli", *map(str, files)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in warm.stdout.splitlines():
        path, milliseconds, cpu_milliseconds = line.rsplit("\t", 2)
        run.extract_ms[label(Path(path))] = float(milliseconds)
        run.cpu_ms[label(Path(path))] = float(cpu_milliseconds)
    return run


def cpu_seconds() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def warm_cli(files: list[str]) -> None:
    """The CLI's `main()` twice per file in this process; prints "path<TAB>ms<TAB>cpu ms" of the second call."""
    import contextlib
    import io

    from fastapi_app.cli import main as cli_main

    for path in files:
        for _ in range(2):
            err = io.StringIO()
            cpu_before = cpu_seconds()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                cli_main(["extract", path, "--timings"])
            cpu_ms = (cpu_seconds() - cpu_before) * 1000
        match = TIMINGS.search(err.getvalue())
        if match is not None:
            print(f"{path}\t{float(match.group(1)) + float(match.group(2))}\t{cpu_ms:.1f}", flush=True)


@dataclass
class PipelineRun:
    workers: int
    documents: int
    failed: int
    wall_s: float
    processing_ms: dict[str, list[float]]  # relative path -> each copy's worker processing_ms
    worker_cpu_s: float  # the worker processes and their tesseract children, uploads to the end
    in_worker_extract_s: float  # the stored results' own extract + analyze times, summed
    api_cpu_s: float
    servers_cpu_s: float  # PostgreSQL and Redis
    machine_cpu_s: float  # every core's busy time: the above, this client, the OS
    refused: dict[str, str]  # relative path -> error_code of the refused upload


def upload_all(stack: Stack, token: str, queue: list[Path]) -> tuple[dict[str, tuple[str, float]], dict[str, str]]:
    """document id -> (relative path, client time its upload started); refused uploads by path."""
    client = ApiClient(stack.base_url, token)
    accepted: dict[str, tuple[str, float]] = {}
    refused: dict[str, str] = {}

    def upload(path: Path) -> tuple[Path, float, dict[str, object], int]:
        before = time.time()
        response = client.upload_bytes(path.read_bytes(), path.name)
        return path, before, response.json(), response.status_code

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        for path, before, body, status in pool.map(upload, queue):
            if status in (200, 201, 202):
                accepted[str(body["data"]["id"])] = (label(path), before)  # type: ignore[index]
            else:
                refused[label(path)] = str(body.get("error_code"))
    return accepted, refused


def finished_documents(api: ApiClient, wanted: set[str], timeout_s: float) -> list[dict[str, object]]:
    """Waits on two one-row count queries (the pipeline shares the 2 cores with this client and the API,
    so the wait must cost little), then reads the list once."""
    deadline = time.monotonic() + timeout_s
    while sum(
        int(api.get("/api/v1/documents/", params={"status": status, "page_size": 1}).json()["total"])
        for status in ("completed", "failed")
    ) < len(wanted):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(wanted)} documents did not all finish in {timeout_s} s")
        time.sleep(0.25)
    documents: list[dict[str, object]] = []
    page = 1
    while True:
        body = api.get("/api/v1/documents/", params={"page": page, "page_size": 100}).json()
        documents.extend(d for d in body["data"] if str(d["id"]) in wanted)
        if page >= body["total_pages"]:
            return documents
        page += 1


def run_pipeline(workers: int, queue: list[Path], timeout_s: float = 1800) -> PipelineRun:
    with bench_stack(workers) as stack:
        warm = ApiClient(stack.base_url)
        warm.register_and_login()
        warm_ids = [
            warm.upload_bytes(small_text_pdf(), f"warm-{i}.pdf").json()["data"]["id"] for i in range(2 * workers)
        ]
        for document_id in warm_ids:
            warm.wait_for(document_id)
        api = ApiClient(stack.base_url)
        api.register_and_login()
        assert api.token is not None
        cpu_before = stack_cpu_seconds(stack)
        accepted, refused = upload_all(stack, api.token, queue)
        documents = finished_documents(api, set(accepted), timeout_s)
        cpu_after = stack_cpu_seconds(stack)
        in_worker_ms = 0.0
        for document in documents:
            if document["status"] == "completed":
                timings = api.extracted(str(document["id"]))["timings_ms"]
                in_worker_ms += float(timings.get("extract", 0)) + float(timings.get("analyze", 0))
    first_upload = min(before for _, before in accepted.values())
    last_done = max(datetime.fromisoformat(str(d["completed_at"])).timestamp() for d in documents)
    processing: dict[str, list[float]] = {}
    for document in documents:
        path, _ = accepted[str(document["id"])]
        processing.setdefault(path, []).append(float(document.get("processing_ms") or 0))  # type: ignore[arg-type]
    return PipelineRun(
        workers=workers,
        documents=len(documents),
        failed=sum(1 for d in documents if d["status"] == "failed"),
        wall_s=last_done - first_upload,
        processing_ms=processing,
        worker_cpu_s=cpu_after["worker"] - cpu_before["worker"],
        in_worker_extract_s=in_worker_ms / 1000,
        api_cpu_s=cpu_after["api"] - cpu_before["api"],
        servers_cpu_s=sum(cpu_after[kind] - cpu_before[kind] for kind in ("postgres", "redis")),
        machine_cpu_s=cpu_after["machine"] - cpu_before["machine"],
        refused=refused,
    )


def stack_cpu_seconds(stack: Stack) -> dict[str, float]:
    """User + system CPU so far: of the worker process groups (with the children they reaped) and of
    uvicorn; of PostgreSQL and Redis (every process of theirs: the benchmark's database is the only busy
    one); and of the whole machine ("machine", busy time of every core, from /proc/stat)."""
    groups = {proc.pid: ("api" if name in stack.api_ports else "worker") for name, proc in stack.processes.items()}
    servers = {"postgres": "postgres", "redis-server": "redis"}
    ticks = {"api": 0, "worker": 0, "postgres": 0, "redis": 0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            comm, _, rest = (entry / "stat").read_text().rpartition(")")
            fields = rest.split()
            # field 5, pgrp: each stack process leads its own group; the servers go by their command name
            kind = groups.get(int(fields[2])) or servers.get(comm.partition("(")[2])
            if kind is not None:
                ticks[kind] += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    seconds = {kind: count / os.sysconf("SC_CLK_TCK") for kind, count in ticks.items()}
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    idle = int(cpu[3]) + int(cpu[4])  # idle + iowait
    seconds["machine"] = (sum(int(value) for value in cpu[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    return seconds


@dataclass
class Round:
    cli: CliRun
    pipelines: dict[int, PipelineRun]


def overhead(round_: Round, workers: int, repeat: int) -> tuple[float, float, float]:
    """(CLI extraction sum s for the accepted documents, ratio, ms per document)."""
    run = round_.pipelines[workers]
    accepted = [path for path in round_.cli.extract_ms if path not in run.refused]
    cli_sum_s = sum(round_.cli.extract_ms[path] for path in accepted) * repeat / 1000
    ratio = run.wall_s / (cli_sum_s / workers)
    per_document_ms = (run.wall_s * workers - cli_sum_s) / run.documents * 1000
    return cli_sum_s, ratio, per_document_ms


def busy_share(run: PipelineRun) -> float:
    """The workers' processing time (claim to stored, every document) over workers x wall time: the
    rest is waiting for the first upload, between tasks, and for the other worker's last document."""
    busy_ms = sum(ms for copies in run.processing_ms.values() for ms in copies)
    return busy_ms / 1000 / (run.workers * run.wall_s)


def same_run_ratio(run: PipelineRun) -> float:
    """Wall time against the extraction the workers themselves timed in this run (each stored result's
    extract + analyze): immune to the VM's speed drifting between the CLI pass and the pipeline run.
    It leaves out parts of fanned-out PDFs (the merge's own time only) and failed files."""
    return run.wall_s / (run.in_worker_extract_s / run.workers)


def same_run_ms_per_document(run: PipelineRun) -> float:
    return (run.wall_s * run.workers - run.in_worker_extract_s) / run.documents * 1000


def cli_cpu_sum(round_: Round, workers: int, repeat: int) -> float:
    refused = round_.pipelines[workers].refused
    return sum(ms for path, ms in round_.cli.cpu_ms.items() if path not in refused) * repeat / 1000


def print_round(number: int, round_: Round, repeat: int) -> None:
    cli = round_.cli
    print(
        f"round {number}: CLI extraction sum warm {sum(cli.extract_ms.values()) * repeat / 1000:.2f} s, "
        f"cold {sum(cli.cold_extract_ms.values()) * repeat / 1000:.2f} s, "
        f"whole commands {sum(cli.wall_ms.values()) * repeat / 1000:.2f} s; load1={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for workers, run in sorted(round_.pipelines.items()):
        cli_sum_s, ratio, per_document_ms = overhead(round_, workers, repeat)
        cli_cpu_s = cli_cpu_sum(round_, workers, repeat)
        print(
            f"  pipeline-{workers}: {run.documents} documents ({run.failed} failed) in {run.wall_s:.2f} s = "
            f"{run.documents / run.wall_s * 60:.0f} docs/min; CLI sum/{workers} = {cli_sum_s / workers:.2f} s; "
            f"ratio {ratio:.3f}; {per_document_ms:+.0f} ms/document; CPU: workers {run.worker_cpu_s:.2f} s + "
            f"API {run.api_cpu_s:.2f} s against CLI {cli_cpu_s:.2f} s (workers/CLI "
            f"{run.worker_cpu_s / cli_cpu_s:.3f}, "
            f"{(run.worker_cpu_s - cli_cpu_s) / run.documents * 1000:+.0f} ms/document); workers busy "
            f"{busy_share(run):.0%} of their wall time; same run, the workers' own extraction "
            f"{run.in_worker_extract_s:.2f} s: ratio {same_run_ratio(run):.3f}, "
            f"{same_run_ms_per_document(run):+.0f} ms/document; PostgreSQL + Redis {run.servers_cpu_s:.2f} s; "
            f"the machine's cores busy {run.machine_cpu_s:.2f} core-seconds (wall × {os.cpu_count()} cores: "
            f"{run.wall_s * (os.cpu_count() or 1):.2f})",
            flush=True,
        )


def per_file_table(rounds: list[Round]) -> None:
    """Median per file: CLI extraction vs the worker's processing_ms (1-worker runs)."""
    print(
        "\nper file (median over rounds): CLI warm extract ms | cold extract ms | whole command ms | "
        "worker processing_ms (1 worker)"
    )
    for path in sorted(rounds[0].cli.wall_ms):
        extract = [r.cli.extract_ms[path] for r in rounds if path in r.cli.extract_ms]
        cold = [r.cli.cold_extract_ms[path] for r in rounds if path in r.cli.cold_extract_ms]
        wall = [r.cli.wall_ms[path] for r in rounds]
        worker = [ms for r in rounds if 1 in r.pipelines for ms in r.pipelines[1].processing_ms.get(path, [])]
        print(
            f"  {path:52s} {statistics.median(extract) if extract else float('nan'):9.1f} "
            f"{statistics.median(cold) if cold else float('nan'):9.1f} "
            f"{statistics.median(wall):9.1f} {statistics.median(worker) if worker else float('nan'):9.1f}"
            f"  exit={rounds[0].cli.exit_codes[path]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2, help="copies of each file in a pipeline run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--warm-cli", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warm_cli:
        warm_cli(args.warm_cli)
        return
    files = real_documents()
    queue = [path for _ in range(args.repeat) for path in files]
    cli_env = stack_env(Path(tempfile.mkdtemp(prefix="bench-overhead-cli-")))
    print(f"{len(files)} files x {args.repeat} = {len(queue)} documents; workers {args.workers}", flush=True)
    rounds: list[Round] = []
    for number in range(1, args.rounds + 1):
        cli = run_cli(files, cli_env)
        pipelines = {workers: run_pipeline(workers, queue) for workers in args.workers}
        rounds.append(Round(cli, pipelines))
        print_round(number, rounds[-1], args.repeat)
    refused = rounds[0].pipelines[args.workers[0]].refused
    if refused:
        print("refused at upload (left out of both sides):", refused)
    per_file_table(rounds)
    print("\nmedians over rounds:")
    for workers in args.workers:
        figures = [overhead(r, workers, args.repeat) for r in rounds]
        runs = [r.pipelines[workers] for r in rounds]
        cpu_ratios = [r.pipelines[workers].worker_cpu_s / cli_cpu_sum(r, workers, args.repeat) for r in rounds]
        print(
            f"  pipeline-{workers}: {statistics.median(r.documents / r.wall_s * 60 for r in runs):.0f} docs/min, "
            f"wall {statistics.median(r.wall_s for r in runs):.2f} s, "
            f"CLI sum/{workers} {statistics.median(f[0] for f in figures) / workers:.2f} s, "
            f"ratio {statistics.median(f[1] for f in figures):.3f}, "
            f"{statistics.median(f[2] for f in figures):+.0f} ms/document; worker CPU / CLI CPU "
            f"{statistics.median(cpu_ratios):.3f}; same run, against the workers' own extraction: ratio "
            f"{statistics.median(same_run_ratio(r) for r in runs):.3f}, "
            f"{statistics.median(same_run_ms_per_document(r) for r in runs):+.0f}"
            " ms/document"
        )


if __name__ == "__main__":
    main()
