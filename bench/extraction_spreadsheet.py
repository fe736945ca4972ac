"""Spreadsheet extraction speed and memory on a 1M-cell workbook, against openpyxl read-only.

    .venv/bin/python -m bench.extraction_spreadsheet [--runs 5] [--rows 100000]

Writes a workbook of ``--rows`` x 10 columns (ids, text, Korean text, integers, decimals, dates,
fractions, codes) with XlsxWriter in constant_memory mode in a temporary directory. Each run is a
fresh subprocess, so ``ru_maxrss`` is the peak RSS of that run alone (interpreter and imports
included):

- ours: ``fastapi_app.extractors.spreadsheet.extract`` in full (values, formula scan, tables,
  column summaries, text);
- openpyxl: ``load_workbook(read_only=True)`` iterating every cell with ``values_only=True``,
  doing nothing else, as the baseline.

Prints a Markdown table: median of the runs with min-max. The host has 2 cores shared with other
work; numbers taken while it is busy are provisional (the load average is printed alongside).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = 10


def make_workbook(path: Path, rows: int) -> int:
    """The benchmark workbook; returns its cell count (used range, header included)."""
    import datetime as dt

    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Data")
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["id", "name", "region", "qty", "price", "amount", "date", "ratio", "code", "note"])
    regions = ["서울", "부산", "대구", "인천", "광주"]
    start = dt.date(2020, 1, 1)
    for r in range(1, rows + 1):
        sheet.write_number(r, 0, r)
        sheet.write_string(r, 1, f"item {r % 977}")
        sheet.write_string(r, 2, regions[r % 5])
        sheet.write_number(r, 3, r % 50)
        sheet.write_number(r, 4, (r % 1000) * 1.5)
        sheet.write_number(r, 5, (r % 50) * (r % 1000) * 1.5)
        sheet.write_datetime(r, 6, start + dt.timedelta(days=r % 3000), day)
        sheet.write_number(r, 7, (r % 97) / 97)
        sheet.write_string(r, 8, f"C-{r:06d}")
        sheet.write_string(r, 9, "비고" if r % 3 else "ok")
    workbook.close()
    return (rows + 1) * COLUMNS


# --- one measurement, in a fresh process -----------------------------------------------------


def _worker(which: str, path: Path) -> dict[str, float]:
    import resource

    if which == "ours":
        import hashlib

        from fastapi_app.extractors.base import ExtractionContext
        from fastapi_app.extractors.spreadsheet import extract

        ctx = ExtractionContext(
            path=path,
            mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            file_type="excel",
            size_bytes=path.stat().st_size,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        started = time.perf_counter()
        result = extract(ctx)
        seconds = time.perf_counter() - started
        assert result.spreadsheet is not None
        data = result.spreadsheet.sheets[0]
        assert data.tables and data.columns[5].sum is not None, "tables and summaries must be computed"
        cells = data.row_count * data.column_count
    else:
        import openpyxl

        started = time.perf_counter()
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        cells = 0
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
        workbook.close()
        seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": seconds, "cells": cells, "peak_mib": peak_kib / 1024}


def _measure(which: str, path: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.extraction_spreadsheet", "--worker", which, str(path)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _spread(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--worker", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker[0], Path(args.worker[1]))))
        return

    with tempfile.TemporaryDirectory(prefix="bench-sheet-") as tmp:
        path = Path(tmp) / "million.xlsx"
        cells = make_workbook(path, args.rows)
        print(
            f"workbook: {args.rows:,} rows x {COLUMNS} columns = {cells:,} cells, {path.stat().st_size / 2**20:.1f} MiB"
        )
        runs: dict[str, list[dict[str, float]]] = {"ours": [], "openpyxl": []}
        loads = []
        for _ in range(args.runs):
            for which in runs:  # interleaved, so a busy spell hits both alike
                runs[which].append(_measure(which, path))
            loads.append(os.getloadavg()[0])

    rate = {k: [r["cells"] / r["seconds"] for r in v] for k, v in runs.items()}
    print()
    print("| reader | seconds | cells/s | peak RSS (MiB) |")
    print("|---|---|---|---|")
    labels = {"ours": "fastapi_app spreadsheet.extract (full)", "openpyxl": "openpyxl read_only, values only"}
    for which, results in runs.items():
        seconds = [r["seconds"] for r in results]
        peaks = [r["peak_mib"] for r in results]
        cells_per_s = _spread(rate[which], ",.0f")
        print(f"| {labels[which]} | {_spread(seconds, '.2f')} | {cells_per_s} | {_spread(peaks, '.0f')} |")
    speedups = [o / b for o, b in zip(rate["ours"], rate["openpyxl"], strict=True)]
    print()
    print(f"speed-up over openpyxl (per run pair): {_spread(speedups, '.1f')}x; median of {args.runs} runs, min–max")
    print(f"1-min load average during the runs: {_spread(loads, '.2f')} on {os.cpu_count()} CPUs")
    print("Numbers taken while other work uses the CPU are provisional.")


if __name__ == "__main__":
    main()
