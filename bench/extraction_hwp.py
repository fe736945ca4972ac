"""HWP and HWPX extraction time, on one core.

    .venv/bin/python -m bench.extraction_hwp [--runs 15] [--kb 300]

Times the `hwp` extractor alone (`registry.extract`: OLE or zip, records or XML, text, tables,
notes) and `extract_document` (the same plus key values and entities, what the worker runs) on:
the largest real HWP and HWPX documents of the corpus (tests/corpus/hwp, and ../shared/corpus/hwp
when it is there), and a ~300 KB HWP and HWPX built by tests/samples (paragraphs of seeded random
Korean and 5x4 tables, compressing like real text), and a ~300 KB HWP made as real ones are: ~28 KB
of that text and tables, the rest pictures (BinData streams). Prints the median of the runs,
min-max, and ms per KB of file. Target (issue 15): a 300 KB HWP in <= 150 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import ExtractionContext, ExtractionResult
from fastapi_app.extractors.engine import extract_document
from fastapi_app.extractors.hwp.sniff import HWP_MIME, HWPX_MIME
from tests.samples.make_hwp import large_hwp, pictured_hwp
from tests.samples.make_hwpx import large_hwpx

ROOT = Path(__file__).resolve().parents[1]
CORPORA = [ROOT / "tests" / "corpus" / "hwp", ROOT.parent / "shared" / "corpus" / "hwp"]


def _ctx(path: Path) -> ExtractionContext:
    data = path.read_bytes()
    return ExtractionContext(
        path=path,
        mime_type=HWPX_MIME if data.startswith(b"PK") else HWP_MIME,
        file_type="hwp",  # type: ignore[arg-type]
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _median_ms(run: Callable[[ExtractionContext], ExtractionResult], path: Path, runs: int) -> tuple[float, ...]:
    """Wall-clock median, min and max, and the median of the process's CPU time (what the document
    costs when other processes share the core)."""
    ctx = _ctx(path)
    run(ctx)  # warm: imports and first-call caches are not the document's cost
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        run(ctx)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(wall), min(wall), max(wall), statistics.median(cpu)


def _largest_real(suffix: str) -> Path | None:
    """The largest corpus file of a kind that extracts (the password-protected one does not)."""
    candidates = []
    for folder in CORPORA:
        if not (folder / "manifest.json").is_file():
            continue
        for entry in json.loads((folder / "manifest.json").read_text(encoding="utf-8")):
            facts = entry.get("facts", {})
            if entry["file"].endswith(suffix) and not facts.get("password_protected"):
                candidates.append(folder / entry["file"])
    return max(candidates, key=lambda p: p.stat().st_size, default=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--kb", type=int, default=300, help="size of the built documents")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory() as tmp:
        files = [
            ("largest real HWP", _largest_real(".hwp")),
            ("largest real HWPX", _largest_real(".hwpx")),
            (f"built HWP (~{args.kb} KB)", large_hwp(Path(tmp) / "built.hwp", args.kb * 1024)),
            (f"built HWP with pictures (~{args.kb} KB)", pictured_hwp(Path(tmp) / "pictured.hwp", args.kb * 1024)),
            (f"built HWPX (~{args.kb} KB)", large_hwpx(Path(tmp) / "built.hwpx", args.kb * 1024)),
        ]
        print(
            "| document | size | extractor: median ms (min-max) | CPU ms | ms/KB "
            "| extract_document: median ms (min-max) | CPU ms | ms/KB |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for label, path in files:
            if path is None:
                continue
            kb = path.stat().st_size / 1024
            ours = _median_ms(registry.extract, path, args.runs)
            whole = _median_ms(extract_document, path, args.runs)
            result = registry.extract(_ctx(path))
            detail = f"{len(result.text):,} chars, {len(result.hwp.tables) if result.hwp else 0} tables"
            print(
                f"| {label}: {path.name} ({detail}) | {kb:,.0f} KB | {ours[0]:.1f} ({ours[1]:.1f}-{ours[2]:.1f}) "
                f"| {ours[3]:.1f} | {ours[0] / kb:.3f} | {whole[0]:.1f} ({whole[1]:.1f}-{whole[2]:.1f}) "
                f"| {whole[3]:.1f} | {whole[0] / kb:.3f} |"
            )


if __name__ == "__main__":
    main()
